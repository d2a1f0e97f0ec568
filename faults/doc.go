// Package faults is aepsflow's fault-injection suite (`make test-faults`, build tag faults). Its
// tests run the real binary (api and worker as separate processes they can SIGKILL), a private
// PostgreSQL cluster they can stop, and Temporal dev servers they can stop, and check that no
// transaction is lost, duplicated or half-written, and that everything recovers by itself.
//
// It never touches the machine's shared services: the PostgreSQL cluster is created with initdb in
// a temporary directory on a free port, each test starts its own dev server on a free port.
package faults
