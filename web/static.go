package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"atroz/ui"

	"github.com/gin-gonic/gin"
)

// asset is one embedded dashboard file, ready to serve: its bytes, a gzip
// copy made once at start, and a strong ETag of the content.
type asset struct {
	body, gz    []byte
	etag, ctype string
}

// loadAssets reads every file under ui's static/ and precompresses it.
func loadAssets() (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(ui.Static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := ui.Static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: mime.TypeByExtension(path.Ext(p))}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // the level is valid
		_, _ = zw.Write(body)
		if zw.Close() == nil && b.Len() < len(body) {
			a.gz = b.Bytes()
		}
		out["/"+strings.TrimPrefix(p, "static/")] = a
		return nil
	})
	return out, err
}

// staticFiles serves the dashboard: / is index.html, other paths are the
// embedded files, revalidated by ETag (304) and sent gzipped when the
// browser accepts it. Anything else is the API's JSON 404.
func (s *Server) staticFiles(c *gin.Context) {
	p := c.Request.URL.Path
	if p == "/" {
		p = "/index.html"
	}
	a, ok := s.assets[p]
	if !ok || (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
		abortWithError(c, http.StatusNotFound, ErrorNotFound, errNoRoute(c))
		return
	}
	h := c.Writer.Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache") // revalidate: a new build changes the ETag
	h.Set("Vary", "Accept-Encoding")
	if c.GetHeader("If-None-Match") == a.etag {
		c.Status(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && strings.Contains(c.GetHeader("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	c.Data(http.StatusOK, a.ctype, body)
}
