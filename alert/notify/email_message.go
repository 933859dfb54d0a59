package notify

import (
	"bytes"
	"crypto/rand"
	htmltemplate "html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"text/template"
	"time"
)

// emailText is the plain-text part of a message.
var emailText = template.Must(template.New("text").Parse(`{{.Title}}
{{range .Alerts}}
{{.Status}}: {{.Name}}
{{with .Summary}}{{.}}
{{end}}value: {{.Value}}
started: {{.StartsAt}}{{with .EndsAt}}
resolved: {{.}}{{end}}
{{range .Labels}}  {{.Name}} = {{.Value}}
{{end}}{{with .URL}}{{.}}
{{end}}{{end}}`))

// emailHTML is the HTML part; html/template escapes every value, and
// refuses URLs of unsafe schemes.
var emailHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:sans-serif">
<h2>{{.Title}}</h2>
{{range .Alerts}}<div style="border-left:4px solid {{if .Firing}}#d32f2f{{else}}#2e7d32{{end}};padding:4px 12px;margin:12px 0">
<h3>{{.Status}}: {{.Name}}</h3>
{{with .Summary}}<p>{{.}}</p>{{end}}
<p>value: <b>{{.Value}}</b><br>started: {{.StartsAt}}{{with .EndsAt}}<br>resolved: {{.}}{{end}}</p>
<table>{{range .Labels}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{end}}</table>
{{with .URL}}<p><a href="{{.}}">View in AtroZ</a></p>{{end}}
</div>
{{end}}</body></html>
`))

// emailData is what the templates show.
type emailData struct {
	Title  string
	Alerts []emailAlert
}

// emailAlert is one notification, formatted.
type emailAlert struct {
	Status, Name, Summary, Value, StartsAt, EndsAt, URL string
	Firing                                              bool
	Labels                                              []emailLabel
}

// emailLabel is one label of an alert.
type emailLabel struct{ Name, Value string }

// newEmailData formats ns for the templates.
func newEmailData(ns []*Notification) emailData {
	d := emailData{Title: batchTitle(ns), Alerts: make([]emailAlert, len(ns))}
	for i, n := range ns {
		a := emailAlert{
			Status: strings.ToUpper(n.Status), Name: n.Labels["alertname"], Summary: n.Annotations["summary"],
			Value: formatValue(n.Value), StartsAt: emailTime(n.StartsAt), URL: n.GeneratorURL, Firing: n.Firing(),
		}
		if !n.Firing() {
			a.EndsAt = emailTime(n.EndsAt)
		}
		for _, name := range sortedLabelNames(n.Labels) {
			a.Labels = append(a.Labels, emailLabel{name, n.Labels[name]})
		}
		d.Alerts[i] = a
	}
	return d
}

// emailTime formats t for people, empty when unknown.
func emailTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 MST")
}

// message renders ns as a multipart/alternative message, headers included.
func (r *EmailReceiver) message(ns []*Notification) ([]byte, error) {
	data := newEmailData(ns)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := emailPart(mw, "text/plain", func(w io.Writer) error { return emailText.Execute(w, data) }); err != nil {
		return nil, err
	}
	if err := emailPart(mw, "text/html", func(w io.Writer) error { return emailHTML.Execute(w, data) }); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	var msg bytes.Buffer
	r.writeHeader(&msg, data.Title, mw.Boundary())
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// emailPart adds a quoted-printable UTF-8 part of type ctype that render
// writes.
func emailPart(mw *multipart.Writer, ctype string, render func(io.Writer) error) error {
	pw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {ctype + "; charset=UTF-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(pw)
	if err := render(qp); err != nil {
		return err
	}
	return qp.Close()
}

// writeHeader writes the message's header. The subject is Q-encoded, which
// also keeps a label's line break from starting a header of its own.
func (r *EmailReceiver) writeHeader(w *bytes.Buffer, subject, boundary string) {
	to := make([]string, len(r.to))
	for i, a := range r.to {
		to[i] = a.String()
	}
	for _, h := range [][2]string{
		{"From", r.from.String()},
		{"To", strings.Join(to, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", r.cfg.Now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + rand.Text() + "@" + emailDomain(r.from.Address) + ">"},
		{"MIME-Version", "1.0"},
		{"Auto-Submitted", "auto-generated"},
		{"Content-Type", `multipart/alternative; boundary="` + boundary + `"`},
	} {
		w.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	w.WriteString("\r\n")
}

// emailDomain is the domain of address, for the Message-ID.
func emailDomain(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i+1:]
	}
	return "atroz"
}
