package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aepsflow/aepsflow/report"
)

const reportUsage = `usage: aepsflow report daily --date YYYY-MM-DD [--format json|csv]

The agents' statement of one day in LIMIT_TIMEZONE (default Asia/Kolkata), read from
PostgreSQL (DATABASE_URL): the same figures as GET /v1/reports/daily.`

// reportCommand prints a report read straight from PostgreSQL.
func reportCommand(ctx context.Context, args []string, out io.Writer) error {
	if len(args) < 1 || args[0] != "daily" {
		return errors.New(reportUsage)
	}
	fs := flag.NewFlagSet("report daily", flag.ContinueOnError)
	date := fs.String("date", "", "day, YYYY-MM-DD")
	format := fs.String("format", "json", "json or csv")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *date == "" || (*format != "json" && *format != "csv") {
		return errors.New(reportUsage)
	}
	loc, err := time.LoadLocation(envOr("LIMIT_TIMEZONE", "Asia/Kolkata"))
	if err != nil {
		return fmt.Errorf("LIMIT_TIMEZONE: %w", err)
	}
	store, err := openStore(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer store.Close()
	d, err := report.Build(ctx, store, *date, loc, time.Now())
	if err != nil {
		return err
	}
	if *format == "csv" {
		return report.WriteCSV(out, d)
	}
	return printJSON(out, d)
}
