package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/auth"
)

// Refusals of the user routes that protect the admins themselves.
var (
	// errLastAdmin is answered when a removal or a role change would leave
	// no admin, and with it no one able to manage users or tokens.
	errLastAdmin = errors.New("is the last admin; make another user admin first")
	// errSelf is answered when an admin would remove or demote their own
	// user: a slip would lock them out mid-session, so another admin must.
	errSelf = errors.New("is your own user; another admin must remove or demote it")
)

// userChanges orders the user routes' changes, so a last-admin check
// holds until its write.
type userChanges struct{ sync.Mutex }

// userInfo is a dashboard user as the API shows it: never its hash.
type userInfo struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

// userRequest adds a user (role viewer when omitted), or carries the new
// password or role of one.
type userRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// userAPI serves the user routes, for admins, while the server runs: the
// same users "atroz user" manages with the server stopped. Every change
// goes through auth.Service, which ends the user's sessions at once.
func (s *Server) userAPI(admin *gin.RouterGroup) {
	admin.GET("/admin/users", s.listUsers)
	admin.POST("/admin/users", s.addUser)
	admin.DELETE("/admin/users/:name", s.removeUser)
	admin.PUT("/admin/users/:name/password", s.setUserPassword)
	admin.PUT("/admin/users/:name/role", s.setUserRole)
}

// listUsers answers every user's name, role and creation, by name.
func (s *Server) listUsers(c *gin.Context) {
	users, err := s.access.Users()
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return
	}
	out := make([]userInfo, len(users))
	for i, u := range users {
		out[i] = userInfo{u.Name, u.Role, u.Created.UTC()}
	}
	success(c, out, nil)
}

// addUser stores the user a userRequest describes and answers 201.
func (s *Server) addUser(c *gin.Context) {
	req, ok := readUserRequest(c)
	if !ok {
		return
	}
	if req.Role == "" {
		req.Role = auth.RoleViewer
	}
	s.usersMu.Lock()
	err := s.access.AddUser(req.Name, req.Role, req.Password)
	s.usersMu.Unlock()
	if !s.userChanged(c, "added", req.Name, err) {
		return
	}
	info := userInfo{Name: req.Name, Role: req.Role, Created: time.Now().UTC()}
	if users, err := s.access.Users(); err == nil {
		for _, u := range users {
			if u.Name == req.Name {
				info = userInfo{u.Name, u.Role, u.Created.UTC()}
			}
		}
	}
	c.JSON(http.StatusCreated, gin.H{"status": "success", "data": info})
}

// removeUser deletes a user, whose sessions end at once; it refuses the
// caller's own user and the last admin.
func (s *Server) removeUser(c *gin.Context) {
	name := c.Param("name")
	s.usersMu.Lock()
	err := s.mayDemote(c, name)
	if err == nil {
		err = s.access.RemoveUser(name)
	}
	s.usersMu.Unlock()
	if s.userChanged(c, "removed", name, err) {
		c.Status(http.StatusNoContent)
	}
}

// setUserPassword replaces a user's password, ending the user's sessions
// (the caller's own too, when it is theirs).
func (s *Server) setUserPassword(c *gin.Context) {
	req, ok := readUserRequest(c)
	if !ok {
		return
	}
	name := c.Param("name")
	s.usersMu.Lock()
	err := s.access.SetPassword(name, req.Password)
	s.usersMu.Unlock()
	if s.userChanged(c, "password_set", name, err) {
		c.Status(http.StatusNoContent)
	}
}

// setUserRole changes a user's role, ending the user's sessions; it
// refuses to demote the caller's own user or the last admin.
func (s *Server) setUserRole(c *gin.Context) {
	req, ok := readUserRequest(c)
	if !ok {
		return
	}
	name := c.Param("name")
	s.usersMu.Lock()
	var err error
	if req.Role == auth.RoleViewer {
		err = s.mayDemote(c, name)
	}
	if err == nil {
		err = s.access.SetRole(name, req.Role)
	}
	s.usersMu.Unlock()
	if s.userChanged(c, "role_set", name, err) {
		c.Status(http.StatusNoContent)
	}
}

// readUserRequest decodes the body, answering 400 naming what is wrong.
func readUserRequest(c *gin.Context) (userRequest, bool) {
	var req userRequest
	if ok, err := readJSON(c, maxSmallBodyBytes, &req); !ok {
		return req, false
	} else if err != nil {
		badRequest(c, fmt.Errorf("body: %w", err))
		return req, false
	}
	return req, true
}

// mayDemote returns why name may not lose its admin role: it is the
// caller's own user, or the last admin. The caller holds usersMu, so no
// other change slips between this check and the write.
func (s *Server) mayDemote(c *gin.Context, name string) error {
	if p := principalOf(c); p.kind == principalUser && p.name == name {
		return fmt.Errorf("name: %q %w", name, errSelf)
	}
	users, err := s.access.Users()
	if err != nil {
		return err
	}
	admins, target := 0, false
	for _, u := range users {
		if u.Role == auth.RoleAdmin {
			admins++
			target = target || u.Name == name
		}
	}
	if target && admins == 1 {
		return fmt.Errorf("name: %q %w", name, errLastAdmin)
	}
	return nil
}

// userChanged answers err, when there is one, with its status, and
// otherwise logs the change; it reports whether the change was made.
func (s *Server) userChanged(c *gin.Context, action, name string, err error) bool {
	switch {
	case err == nil:
		s.auditUser(c, action, name)
		return true
	case errors.Is(err, errSelf), errors.Is(err, errLastAdmin):
		abortWithError(c, http.StatusConflict, ErrorConflict, err)
	case errors.Is(err, auth.ErrUserExists):
		abortWithError(c, http.StatusConflict, ErrorConflict, fmt.Errorf("name: a user named %q exists", name))
	case errors.Is(err, auth.ErrUserNotFound):
		abortWithError(c, http.StatusNotFound, ErrorNotFound, fmt.Errorf("name: no user named %q", name))
	case errors.Is(err, auth.ErrInvalidUser):
		badRequest(c, err) // auth's message names the name, role or password and why
	default:
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
	}
	return false
}

// auditUser logs who added, removed or changed which user.
func (s *Server) auditUser(c *gin.Context, action, name string) {
	p := principalOf(c)
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "user "+action,
		slog.String("event_type", "security"),
		slog.String("kind", "user_"+action),
		slog.String("target_user", name),
		slog.String(p.kind.String(), p.name),
		slog.String("request_id", c.GetString(ctxRequestID)),
	)
}
