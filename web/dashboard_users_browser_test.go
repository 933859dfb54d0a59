package web

import (
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/internal/extserver"

	"github.com/chromedp/chromedp"
)

// TestDashboardUsersInBrowser has an admin add a user on the admin page
// (after the server's refusal of a short password shows in the form), the
// user log in, the admin change the user's role and remove them there,
// and finds the user's session ended at once.
func TestDashboardUsersInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	ls := startLive(t, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("ana", auth.RoleAdmin, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "ana"),
		chromedp.SendKeys(`input[name=password]`, "dashboard password"),
		chromedp.Click(`button[type=submit]`),
		poll(`location.hash.startsWith('#/overview')`, 10*time.Second),
		chromedp.Navigate(ls.url+"/#/admin"),
		poll(`!!document.querySelector('#user-name') && [...document.querySelectorAll('#users tbody tr')].some(r => r.cells[0].textContent === 'ana')`, 10*time.Second))
	if remove := js[bool](t, ctx, `!!document.querySelector('button[aria-label="Remove ana"]')`); remove {
		t.Error("the page offers the admin to remove their own user")
	}

	run(t, ctx, 20*time.Second,
		chromedp.SendKeys(`#user-name`, "bob"),
		chromedp.SetValue(`#user-role`, "viewer"),
		chromedp.SendKeys(`#user-password`, "short"),
		chromedp.Click(`.user-form button[type=submit]`),
		poll(`(document.querySelector('.user-form .error')?.textContent ?? '').includes('password is 5 bytes; it must be at least 12')`, 10*time.Second))
	if _, ok := ls.s.access.VerifyUser("bob", "short"); ok {
		t.Fatal("a refused user was stored")
	}
	run(t, ctx, 20*time.Second,
		chromedp.SetValue(`#user-password`, "bob's long password"),
		chromedp.Click(`.user-form button[type=submit]`),
		poll(`document.body.innerText.includes('User bob added.') && [...document.querySelectorAll('#users tbody tr')].some(r => r.cells[0].textContent === 'bob' && r.cells[1].textContent === 'viewer')`, 10*time.Second))

	bob := bobClient(t, ls.url, "bob's long password")
	if code := bob(); code != http.StatusOK {
		t.Fatalf("bob's session after logging in: %d", code)
	}

	run(t, ctx, 20*time.Second,
		chromedp.Click(`button[aria-label="Change role of bob"]`),
		chromedp.WaitVisible(`dialog[open] #role-select`),
		chromedp.Click(`dialog[open] button[type=submit]`),
		poll(`document.body.innerText.includes('bob is now admin') && [...document.querySelectorAll('#users tbody tr')].some(r => r.cells[0].textContent === 'bob' && r.cells[1].textContent === 'admin')`, 10*time.Second))
	if code := bob(); code != http.StatusUnauthorized {
		t.Errorf("bob's session after his role changed: %d, want 401", code)
	}
	bob = bobClient(t, ls.url, "bob's long password")

	run(t, ctx, 20*time.Second,
		chromedp.Click(`button[aria-label="Remove bob"]`),
		chromedp.WaitVisible(`dialog[open] button[type=submit]`),
		chromedp.Click(`dialog[open] button[type=submit]`),
		poll(`document.body.innerText.includes('User bob removed.') && ![...document.querySelectorAll('#users tbody tr')].some(r => r.cells[0].textContent === 'bob')`, 10*time.Second))
	if code := bob(); code != http.StatusUnauthorized {
		t.Errorf("the removed user's session: %d, want 401 at once", code)
	}
	if users, _ := ls.s.access.Users(); len(users) != 2 {
		t.Errorf("users after the removal: %+v, want ana and viewer", users)
	}
}

// bobClient logs bob in with a cookie jar of its own, as a second browser
// would, and returns a function asking /api/v1/auth/me with that session.
func bobClient(t *testing.T, base, password string) func() int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := client.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"bob","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bob logs in: %d", resp.StatusCode)
	}
	return func() int {
		resp, err := client.Get(base + "/api/v1/auth/me")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
}
