package e2e_test

// The gateway launch and the callback's CORS contract in a real browser: headless Chromium,
// driven with chromedp, runs aepsflow's development agent page, Eko's own aeps-gateway-lib (as npm
// installed it), the simulator's gateway page on http://localhost:3004 (the library's "local"
// environment), the debit-hook with its real CORS preflight, the simulated biometric step and the
// eko-response; and shows the browser refusing a gateway page from another origin and a custom
// header the callback does not allow.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/aepsflow/aepsflow/apptest"
	"github.com/aepsflow/aepsflow/eko/sim"
	"github.com/aepsflow/aepsflow/testenv"
	"github.com/aepsflow/aepsflow/txstate"
)

const (
	browserHeader = "X-Platform" // the custom header the session hands out (in EKO_ALLOWED_HEADERS)
	browserTime   = 3 * time.Minute
)

// callbackLog is a reverse proxy in front of the callback that records what the browser sent:
// preflights are answered by the API's CORS layer and stored nowhere else.
type callbackLog struct {
	mu       sync.Mutex
	requests []seenRequest
	target   atomic.Pointer[url.URL]
}

type seenRequest struct {
	Method, Origin, RequestHeaders, CustomHeader string
	Status                                       int
}

func (l *callbackLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	httputil.NewSingleHostReverseProxy(l.target.Load()).ServeHTTP(rec, r)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, seenRequest{Method: r.Method, Origin: r.Header.Get("Origin"),
		RequestHeaders: strings.ToLower(r.Header.Get("Access-Control-Request-Headers")), CustomHeader: r.Header.Get(browserHeader), Status: rec.status})
}

func (l *callbackLog) seen(fn func(seenRequest) bool) []seenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []seenRequest
	for _, r := range l.requests {
		if fn(r) {
			out = append(out, r)
		}
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// console collects what a page logs: console calls, exceptions and the browser's own messages
// (a CORS refusal is one of those: the page itself only sees "Failed to fetch").
type console struct {
	mu    sync.Mutex
	lines []string
}

func (c *console) listen(ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		var line string
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			line = fmt.Sprintf("[%s %s] %s", e.Entry.Source, e.Entry.Level, e.Entry.Text)
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
			line = fmt.Sprintf("[console %s] %s", e.Type, strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			line = "[exception] " + e.ExceptionDetails.Error()
		default:
			return
		}
		c.mu.Lock()
		c.lines = append(c.lines, line)
		c.mu.Unlock()
	})
}

func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// repoRoot is the module's root (tests run in their package's directory).
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// screenshots saves each step's screenshot: into docs/browser with UPDATE_SCREENSHOTS=1 (the ones
// the README shows), else under .test/ (ignored by git).
type screenshots struct {
	t   *testing.T
	dir string
	n   int
}

func newScreenshots(t *testing.T) *screenshots {
	dir := filepath.Join(repoRoot(t), ".test", "browser-screenshots")
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join(repoRoot(t), "docs", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &screenshots{t: t, dir: dir}
}

func (s *screenshots) take(ctx context.Context, name string) {
	s.t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 1000 {
		s.t.Fatalf("screenshot %s is not a PNG (%d bytes)", name, len(png))
	}
	s.n++
	path := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("%s screenshot %s", time.Now().Format("15:04:05.000"), path)
}

// listenLocal serves h on localhost:3004, the origin aeps-gateway-lib's "local" environment
// posts to, on every loopback address "localhost" may resolve to.
func listenLocal(t *testing.T, h http.Handler) {
	t.Helper()
	// Another checkout's `make test` on this machine may hold the port for its few seconds: wait.
	var ln4 net.Listener
	testenv.WaitFor(t, 3*time.Minute, "localhost:3004 (aeps-gateway-lib's local environment) to be free", func() (bool, error) {
		var err error
		ln4, err = net.Listen("tcp", "127.0.0.1:3004")
		return err == nil, err
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln4) }()
	if ln6, err := net.Listen("tcp", "[::1]:3004"); err == nil {
		go func() { _ = srv.Serve(ln6) }()
	}
	t.Cleanup(func() { _ = srv.Close() })
}

func waitStep(sel string) chromedp.Action {
	return chromedp.WaitVisible(sel, chromedp.ByQuery)
}

// TestBrowserGatewayFlow drives the whole launch and transaction in headless Chromium, and the two
// CORS refusals the browser makes.
func TestBrowserGatewayFlow(t *testing.T) {
	chrome := testenv.Chromium(t)
	started := time.Now()
	lib := filepath.Join(repoRoot(t), "web", "node_modules", "@ekoindia", "aeps-gateway-lib", "build", "aeps-gateway-lib.js")
	libBytes, err := os.ReadFile(lib)
	if err != nil {
		t.Fatalf("aeps-gateway-lib is not installed (%v): run `npm ci --prefix web` (make test and make dev do)", err)
	}

	// Eko: the gateway page and the Inquiry API on localhost:3004.
	inq, err := sim.NewInquiryServer(sim.InquiryConfig{DeveloperKey: developerKey, AccessKey: accessKey, InitiatorID: initiatorID, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	gwPage := &sim.GatewayPage{AccessKey: accessKey, DeveloperKey: developerKey, Inquiry: inq, Logger: quiet}
	mux := http.NewServeMux()
	mux.Handle("/v2/aeps", gwPage)
	mux.Handle("/v2/aeps/", gwPage)
	mux.Handle("/", inq)
	listenLocal(t, mux)
	// The same page from an origin the callback does not allow.
	stranger := httptest.NewServer(&sim.GatewayPage{AccessKey: accessKey, DeveloperKey: developerKey, Logger: quiet})
	t.Cleanup(stranger.Close)

	// aepsflow, its callback reached through the recording proxy.
	proxy := &callbackLog{}
	proxySrv := httptest.NewServer(proxy)
	t.Cleanup(proxySrv.Close)
	app := apptest.Start(t, apptest.Options{Env: map[string]string{
		"EKO_API_BASE_URL": "http://127.0.0.1:3004" + inq.V3Prefix(), "EKO_DEVELOPER_KEY": developerKey,
		"EKO_ACCESS_KEY": accessKey, "EKO_INITIATOR_ID": initiatorID,
		"EKO_ALLOWED_ORIGINS": sim.LocalOrigin, "EKO_ALLOWED_HEADERS": browserHeader,
		"GATEWAY_CALLBACK_URL": proxySrv.URL + "/eko/aeps/callback", "GATEWAY_CALLBACK_HEADERS": browserHeader + ":aepsflow-demo",
		"GATEWAY_ENVIRONMENT": "local", "GATEWAY_PARTNER_NAME": "aepsflow demo",
		"REQUIRE_GATEWAY_SESSION": "true", "DEMO_AGENT_PAGE": "true", "DEMO_AGENT_PAGE_LIB": lib,
		"EKO_RESPONSE_TIMEOUT": "5s", "INQUIRY_INITIAL_BACKOFF": "200ms", "INQUIRY_MAX_BACKOFF": "1s",
	}})
	app.RegisterAgent(agent, nil, nil)
	apiURL, _ := url.Parse(app.URL)
	proxy.target.Store(apiURL)
	sys := &system{app: app, sim: inq}

	t.Run("the page serves the pinned aeps-gateway-lib from node_modules", func(t *testing.T) {
		var pkg struct {
			Dependencies map[string]string `json:"dependencies"`
		}
		b, err := os.ReadFile(filepath.Join(repoRoot(t), "web", "package.json"))
		if err != nil || json.Unmarshal(b, &pkg) != nil {
			t.Fatalf("web/package.json: %v", err)
		}
		version := pkg.Dependencies["@ekoindia/aeps-gateway-lib"]
		if !bytes.HasPrefix(libBytes, []byte("/** @ekoindia/aeps-gateway-lib v"+version+" */")) {
			t.Fatalf("installed library is not the pinned %s: %.60q", version, libBytes)
		}
		resp, err := http.Get(app.URL + "/demo/agent/aeps-gateway-lib.js")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var served bytes.Buffer
		_, _ = served.ReadFrom(resp.Body)
		if resp.StatusCode != 200 || !bytes.Equal(served.Bytes(), libBytes) {
			t.Fatalf("served library: HTTP %d, %d bytes, want the installed file's %d", resp.StatusCode, served.Len(), len(libBytes))
		}
	})

	mint := func(t *testing.T) string {
		t.Helper()
		code, body := sys.admin(t, http.MethodPost, "/v1/gateway/launch-tokens", map[string]string{"user_code": agent})
		var out struct {
			Token string `json:"token"`
		}
		if code != http.StatusCreated || json.Unmarshal(body, &out) != nil {
			t.Fatalf("mint a launch token: HTTP %d %s", code, body)
		}
		return out.Token
	}

	profile := browserProfileDir(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1000, 820))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Run(browser); err != nil {
		t.Fatalf("start Chromium (%s): %v", chrome, err)
	}
	shots := newScreenshots(t)

	// openGateway runs the agent page in a new tab up to aeps.open(), and returns the gateway
	// page's tab (the popup the library opens) with its console.
	openGateway := func(t *testing.T, fragment string, shoot bool) (agentTab, gatewayTab context.Context, gwConsole *console) {
		t.Helper()
		agentTab, cancelAgent := chromedp.NewContext(browser)
		t.Cleanup(cancelAgent)
		ctx, cancel := context.WithTimeout(agentTab, browserTime)
		t.Cleanup(cancel)
		if err := chromedp.Run(ctx, chromedp.Navigate(app.URL+"/demo/agent#"+fragment), waitStep(`body[data-step="ready"] #start`)); err != nil {
			t.Fatalf("agent page: %v", err)
		}
		if shoot {
			shots.take(ctx, "agent-page")
		}
		if err := chromedp.Run(ctx, chromedp.Click("#start", chromedp.ByQuery), waitStep(`body[data-step="session"] #config`)); err != nil {
			t.Fatalf("session: %v", err)
		}
		if shoot {
			shots.take(ctx, "gateway-session")
		}
		popup := chromedp.WaitNewTarget(ctx, func(i *target.Info) bool { return i.Type == "page" })
		if err := chromedp.Run(ctx, chromedp.Click("#open", chromedp.ByQuery)); err != nil {
			t.Fatalf("open: %v", err)
		}
		var id target.ID
		select {
		case id = <-popup:
		case <-ctx.Done():
			t.Fatal("aeps.open() opened no gateway window")
		}
		gw, cancelGW := chromedp.NewContext(browser, chromedp.WithTargetID(id))
		t.Cleanup(cancelGW)
		gwConsole = &console{}
		gwConsole.listen(gw)
		gwCtx, cancel := context.WithTimeout(gw, browserTime)
		t.Cleanup(cancel)
		if err := chromedp.Run(gwCtx, chromedp.EmulateViewport(1000, 820), waitStep(`body[data-step="ready"] #proceed`)); err != nil {
			t.Fatalf("gateway page: %v\nconsole:\n%s", err, gwConsole)
		}
		return ctx, gwCtx, gwConsole
	}

	t.Run("whole flow ends in success", func(t *testing.T) {
		agentTab, gw, gwConsole := openGateway(t, "token="+mint(t), true)
		var launch string
		if err := chromedp.Run(gw, chromedp.Text("#launch-info", &launch, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(launch, agent) || !strings.Contains(launch, "secret_key ✓") {
			t.Fatalf("gateway page: %q", launch)
		}
		shots.take(gw, "gateway-page")

		if err := chromedp.Run(gw, chromedp.Click("#proceed", chromedp.ByQuery), waitStep(`body[data-step="biometric"] #outcome-success`)); err != nil {
			var status string
			_ = chromedp.Run(gw, chromedp.Text("#status", &status, chromedp.ByQuery))
			t.Fatalf("debit-hook: %v: %s\nconsole:\n%s", err, status, gwConsole)
		}
		shots.take(gw, "debit-hook-confirmed")
		var ref string
		if err := chromedp.Run(gw, chromedp.Evaluate(`document.getElementById("status").textContent.match(/Transaction (\d+)/)[1]`, &ref)); err != nil {
			t.Fatal(err)
		}
		// A real preflight, from the gateway page's origin, asking for the custom header; then the
		// POST carrying it.
		if pre := proxy.seen(func(r seenRequest) bool {
			return r.Method == http.MethodOptions && r.Origin == sim.LocalOrigin && strings.Contains(r.RequestHeaders, "x-platform") && r.Status < 300
		}); len(pre) == 0 {
			t.Errorf("no granted CORS preflight from %s asking for %s: %+v", sim.LocalOrigin, browserHeader, proxy.seen(func(seenRequest) bool { return true }))
		}
		if posts := proxy.seen(func(r seenRequest) bool {
			return r.Method == http.MethodPost && r.Origin == sim.LocalOrigin && r.CustomHeader == "aepsflow-demo"
		}); len(posts) == 0 {
			t.Error("the debit-hook POST did not carry the custom header")
		}
		sys.waitState(t, ref, txstate.Pending)

		if err := chromedp.Run(gw, chromedp.Click("#outcome-success", chromedp.ByQuery), waitStep(`body[data-step="done"] #status`)); err != nil {
			t.Fatalf("eko-response: %v\nconsole:\n%s", err, gwConsole)
		}
		shots.take(gw, "eko-response-sent")

		v := sys.waitState(t, ref, txstate.Success)
		if !v.hasEvent("callback", "") && len(v.Events) == 0 {
			t.Errorf("no history: %s", v.raw)
		}
		var shown string
		// The agent looks back at the portal's tab (a background tab's timers are throttled).
		if err := chromedp.Run(agentTab, page.BringToFront(), waitStep(`body[data-state="success"] #state`), chromedp.Text("#state", &shown, chromedp.ByQuery)); err != nil {
			t.Fatalf("agent page never showed success: %v", err)
		}
		if !strings.HasPrefix(shown, "success") {
			t.Errorf("agent page shows %q", shown)
		}
		shots.take(agentTab, "agent-page-final-state")
		if n := app.QueryInt(t, `SELECT count(*) FROM gateway_launches WHERE user_code = $1 AND outcome = 'issued' AND auth = 'launch_token'`, agent); n < 1 {
			t.Errorf("the launch was not recorded")
		}
	})

	// Every outcome button of the biometric step, to the state it must lead to (the gateway page
	// tells its Inquiry API the truth: a closed page's withdrawal went through).
	outcomes := []struct {
		button string
		final  txstate.State
		step   string
	}{
		{"failure", txstate.Failed, "done"},
		{"pending", txstate.Success, "done"},
		{"suspicious", txstate.NeedsReview, "done"},
		{"close", txstate.Success, "closed"},
	}
	for _, o := range outcomes {
		t.Run("outcome "+o.button, func(t *testing.T) {
			_, gw, gwConsole := openGateway(t, "token="+mint(t), false)
			var ref string
			if err := chromedp.Run(gw, chromedp.Click("#proceed", chromedp.ByQuery), waitStep(`body[data-step="biometric"] #outcome-`+o.button),
				chromedp.Evaluate(`document.getElementById("status").textContent.match(/Transaction (\d+)/)[1]`, &ref),
				chromedp.Click("#outcome-"+o.button, chromedp.ByQuery), waitStep(`body[data-step="`+o.step+`"] #status`)); err != nil {
				t.Fatalf("%s: %v\nconsole:\n%s", o.button, err, gwConsole)
			}
			responses := app.QueryInt(t, `SELECT count(*) FROM eko_responses WHERE client_ref_id = $1`, ref)
			if (o.button == "close") != (responses == 0) {
				t.Errorf("%s: %d eko-responses recorded", o.button, responses)
			}
			sys.waitState(t, ref, o.final)
		})
	}

	t.Run("a custom header not in EKO_ALLOWED_HEADERS fails its preflight", func(t *testing.T) {
		_, gw, gwConsole := openGateway(t, "token="+mint(t)+"&header=X-Not-Allowed:1", false)
		if err := chromedp.Run(gw, chromedp.Click("#proceed", chromedp.ByQuery), waitStep(`body[data-step="callback-blocked"] #status`)); err != nil {
			t.Fatalf("want the debit-hook blocked: %v\nconsole:\n%s", err, gwConsole)
		}
		waitConsole(t, gwConsole, "x-not-allowed is not allowed by Access-Control-Allow-Headers")
		showConsole(t, gw, gwConsole)
		shots.take(gw, "refused-custom-header")
		if pre := proxy.seen(func(r seenRequest) bool {
			return r.Method == http.MethodOptions && strings.Contains(r.RequestHeaders, "x-not-allowed")
		}); len(pre) == 0 {
			t.Error("no preflight asked for x-not-allowed")
		}
		if posts := proxy.seen(func(r seenRequest) bool {
			return r.Method == http.MethodPost && r.CustomHeader == "" && r.Origin == sim.LocalOrigin
		}); len(posts) != 0 {
			t.Errorf("the browser sent the POST anyway: %+v", posts)
		}
	})

	t.Run("a gateway page from a non-allowed origin has its fetch blocked", func(t *testing.T) {
		// The launch form, posted by the browser to the same gateway page served elsewhere.
		tab, cancelTab := chromedp.NewContext(browser)
		defer cancelTab()
		cons := &console{}
		cons.listen(tab)
		ctx, cancel := context.WithTimeout(tab, browserTime)
		defer cancel()
		status, body := gatewaySession(t, app)
		if status != http.StatusOK {
			t.Fatalf("session: %d %s", status, body)
		}
		fields, _ := json.Marshal(body["android_bundle"])
		submit := `(function(f){var form=document.createElement("form");form.method="post";form.action=` +
			jsString(stranger.URL+"/v2/aeps") + `;Object.keys(f).forEach(function(k){var i=document.createElement("input");` +
			`i.type="hidden";i.name=k;i.value=f[k];form.appendChild(i);});document.body.appendChild(form);form.submit();return true;})(` + string(fields) + `)`
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Navigate(app.URL+"/demo/agent"), waitStep("#start"),
			chromedp.Evaluate(submit, &ok), waitStep(`body[data-step="ready"] #proceed`),
			chromedp.Click("#proceed", chromedp.ByQuery), waitStep(`body[data-step="callback-blocked"] #status`)); err != nil {
			t.Fatalf("want the debit-hook blocked: %v\nconsole:\n%s", err, cons)
		}
		waitConsole(t, cons, "from origin '"+stranger.URL+"' has been blocked by CORS policy")
		showConsole(t, ctx, cons)
		shots.take(ctx, "refused-origin")
		if posts := proxy.seen(func(r seenRequest) bool { return r.Origin == stranger.URL && r.Method == http.MethodPost }); len(posts) != 0 {
			t.Errorf("the browser sent the POST from %s anyway: %+v", stranger.URL, posts)
		}
		if pre := proxy.seen(func(r seenRequest) bool { return r.Origin == stranger.URL && r.Method == http.MethodOptions }); len(pre) == 0 || pre[0].Status != http.StatusForbidden {
			t.Errorf("preflight from %s: %+v, want one answered 403", stranger.URL, pre)
		}
	})
	t.Logf("browser test took %s", time.Since(started).Round(100*time.Millisecond))
}

// gatewaySession asks for a session the way the platform's backend does.
func gatewaySession(t *testing.T, app *apptest.App) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/v1/gateway/session", strings.NewReader(`{"user_code":"`+agent+`"}`))
	req.Header.Set("Authorization", "Bearer "+app.Config.Gateway.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitConsole waits until the page's console holds want (the browser logs a CORS refusal a moment
// after the page's fetch fails).
func waitConsole(t *testing.T, c *console, want string) {
	t.Helper()
	testenv.WaitFor(t, 10*time.Second, "the browser's console to say "+want, func() (bool, error) {
		return strings.Contains(c.String(), want), errors.New("console:\n" + c.String())
	})
}

// showConsole copies the browser's CORS messages into the page, so that its screenshot shows what
// the browser said (a page cannot read its own console).
func showConsole(t *testing.T, ctx context.Context, c *console) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(c.String(), "\n") {
		if strings.Contains(l, "CORS") {
			lines = append(lines, l)
		}
	}
	js := `(function(text){var s=document.createElement("section");var h=document.createElement("strong");` +
		`h.textContent="Browser console (copied by the test)";var p=document.createElement("pre");p.style.whiteSpace="pre-wrap";` +
		`p.style.color="#b71c1c";p.textContent=text;s.appendChild(h);s.appendChild(p);document.querySelector("main").appendChild(s);return true;})(` +
		jsString(strings.Join(lines, "\n")) + `)`
	var ok bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &ok)); err != nil {
		t.Fatal(err)
	}
	t.Logf("browser console:\n%s", strings.Join(lines, "\n"))
}

// browserProfileDir is a fresh Chromium profile directory. It is not t.TempDir: Chromium's helper
// processes can still be writing to it for a moment after the browser exits, and t.TempDir's
// cleanup then fails the test. Removal is retried briefly; a leftover is only logged.
func browserProfileDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "aepsflow-chromium-")
	if err != nil {
		t.Fatalf("create a Chromium profile directory: %v", err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := os.RemoveAll(dir)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Logf("leaving Chromium profile %s behind: %v", dir, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}
