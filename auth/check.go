package auth

import (
	"errors"
	"fmt"

	"atroz/store"
)

// Check decodes every user and token record of db and returns each that
// does not decode, joined; nil when all do.
func Check(db *store.DB) error {
	var problems []error
	err := db.Records(store.RecordToken, func(name string, v []byte) bool {
		if _, err := decodeTokenRecord(name, v); err != nil {
			problems = append(problems, fmt.Errorf("token %q: %w", name, err))
		}
		return true
	})
	problems = append(problems, err)
	err = db.Records(store.RecordUser, func(name string, v []byte) bool {
		if _, err := decodeUser(v); err != nil {
			problems = append(problems, fmt.Errorf("user %q: %w", name, err))
		}
		return true
	})
	return errors.Join(append(problems, err)...)
}
