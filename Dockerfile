# aepsflow's production image, built from source (docker-compose.yml builds it):
#   docker build --build-arg VERSION=$(git describe --always) -t aepsflow .
#   docker run --rm aepsflow version
# It holds the aepsflow binary only; the Eko simulator is a separate target, for tests and demos:
#   docker build --target ekosim -t aepsflow-ekosim .
# Classic builder compatible (no BuildKit-only syntax).

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first: this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
# Static binaries (lib/pq and the Temporal SDK are pure Go), so the runtime image needs no libc.
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/aepsflow ./cmd/aepsflow \
 && go build -trimpath -ldflags="-s -w" -o /out/ekosim ./cmd/ekosim

# The simulator, never in the production image.
FROM gcr.io/distroless/static-debian12:nonroot AS ekosim
COPY --from=build /out/ekosim /usr/local/bin/ekosim
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/ekosim"]
CMD ["serve", "--addr", ":8090"]

# The production image (the default target: last). distroless: CA certificates and tzdata, no
# shell; :nonroot runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aepsflow /usr/local/bin/aepsflow
USER nonroot:nonroot
ENV HTTP_ADDR=:8080 WORKER_HTTP_ADDR=:8081
EXPOSE 8080 8081
# `aepsflow healthcheck` asks the API's /readyz; the worker's compose service overrides it with
# `healthcheck --worker`.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/aepsflow", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/aepsflow"]
CMD ["api"]
