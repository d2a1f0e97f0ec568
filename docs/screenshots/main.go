// Command screenshots takes the README's pictures of the Temporal Web UI with headless Chromium:
// the workflow list with the operator's columns (state, type, amount, agent), and the page of each
// workflow given (summary, current details, named timeline). scripts/screenshots.sh runs it
// against a `make dev` + simulator run.
//
// It is a module of its own so that aepsflow does not depend on chromedp. The list's columns live
// in the browser (localStorage "namespace-workflow-table-columns", what the UI's "Configure
// columns" dialog writes): this sets them before loading the list.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// views are the saved views the README's operator guide lists (the UI's "Save as New" writes
// them to localStorage "saved-workflow-queries"); the ones that depend on the date or the response
// timeout are the README's to build.
var views = []struct{ name, query string }{
	{"Needs review", `TxState="needs_review"`},
	{"Flagged", `TxFlagged=true`},
	{"Failed inquiries 403", `TxReason="inquiry_failed"`},
	{"Large withdrawals", `TxType="cash_withdrawal" AND TxAmount >= 5000`},
}

// columns are the list's columns, in order, as the UI stores them.
var columns = []string{"Status", "Workflow ID", "TxState", "TxType", "TxAmount", "AgentUserCode", "TxReason", "Start"}

func main() {
	ui := flag.String("ui", "http://127.0.0.1:8233", "Temporal Web UI base URL")
	ns := flag.String("namespace", "default", "namespace")
	query := flag.String("query", `WorkflowType="Transaction"`, "list query")
	out := flag.String("out", "docs", "directory for the PNG files")
	chrome := flag.String("chromium", "/usr/bin/chromium", "Chromium binary")
	var pages multi
	flag.Var(&pages, "page", "NAME=TAB:WORKFLOW_ID/RUN_ID: also take this tab (history, metadata) of the run's page as NAME.png (repeatable)")
	flag.Parse()
	if err := run(*ui, *ns, *query, *out, *chrome, pages); err != nil {
		log.Fatal(err)
	}
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func run(ui, ns, query, out, chrome string, pages []string) error {
	profile, err := os.MkdirTemp("", "screenshots-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.UserDataDir(profile), chromedp.WindowSize(1600, 1000),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	cols := make([]map[string]any, len(columns))
	for i, c := range columns {
		cols[i] = map[string]any{"label": c, "pinned": i < 2}
	}
	stored, err := json.Marshal(map[string]any{ns: cols})
	if err != nil {
		return err
	}
	saved := make([]map[string]string, len(views))
	for i, v := range views {
		saved[i] = map[string]string{"id": fmt.Sprint(1700000000000 + i), "name": v.name, "query": v.query, "type": "user"}
	}
	savedJSON, err := json.Marshal(map[string]any{ns: saved})
	if err != nil {
		return err
	}
	list := fmt.Sprintf("%s/namespaces/%s/workflows?query=%s", ui, ns, urlQuery(query))
	var png []byte
	err = chromedp.Run(ctx,
		chromedp.Navigate(ui+"/namespaces/"+ns+"/workflows"),
		chromedp.WaitReady("body"),
		chromedp.Evaluate(fmt.Sprintf(`localStorage.setItem("namespace-workflow-table-columns", %q)`, stored), nil),
		chromedp.Evaluate(fmt.Sprintf(`localStorage.setItem("saved-workflow-queries", %q)`, savedJSON), nil),
		chromedp.Navigate(list),
		waitText("aeps/"),
		chromedp.Sleep(2*time.Second), // the rows' attributes render after the IDs
		chromedp.CaptureScreenshot(&png),
	)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if err := write(out, "webui-list.png", png); err != nil {
		return err
	}
	for _, p := range pages {
		name, run, ok := strings.Cut(p, "=")
		i := strings.LastIndex(run, "/")
		tab, run, ok2 := strings.Cut(run, ":")
		if !ok || !ok2 || i < 0 {
			return fmt.Errorf("-page %q: want NAME=TAB:WORKFLOW_ID/RUN_ID", p)
		}
		i = strings.LastIndex(run, "/")
		wid, rid := run[:i], run[i+1:]
		u := fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/%s", ui, ns, urlPath(wid), rid, tab)
		err := chromedp.Run(ctx,
			// Tall enough for the summary, details, current details and the whole named timeline.
			chromedp.EmulateViewport(1600, 1250),
			chromedp.Navigate(u),
			waitText(wid),
			chromedp.Sleep(4*time.Second), // the timeline, the metadata query
			chromedp.CaptureScreenshot(&png),
		)
		if err != nil {
			var text string
			_ = chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 2000) : ""`, &text))
			return fmt.Errorf("page %s (%s): %w; the page reads:\n%s", name, u, err, text)
		}
		if err := write(out, name+".png", png); err != nil {
			return err
		}
	}
	return nil
}

// waitText waits until the page's text holds s.
func waitText(s string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`document.body && document.body.innerText.includes(%q)`, s), nil,
		chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))
}

func write(dir, name string, png []byte) error {
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, png, 0o644); err != nil {
		return err
	}
	log.Printf("wrote %s (%d bytes)", f, len(png))
	return nil
}

func urlQuery(s string) string { return url.QueryEscape(s) }

func urlPath(s string) string { return url.PathEscape(s) }
