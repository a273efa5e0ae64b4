package tablesecurity

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (errors.Is) by every error that a config, a table name or a custom
// filter is not acceptable: the caller's fault, to be answered with 400 and the message.
var ErrInvalid = errors.New("invalid table security config")

// ErrNoTable is matched by the error that the table does not exist (or is not a table).
var ErrNoTable = errors.New("no such table")

// ErrConflict is matched when the compiled objects cannot be created because objects of the
// same names exist that this package did not create.
var ErrConflict = errors.New("conflicting objects")

type userError struct {
	kind error
	msg  string
}

func (e *userError) Error() string        { return e.msg }
func (e *userError) Is(target error) bool { return target == e.kind }

func invalid(format string, args ...any) error {
	return &userError{kind: ErrInvalid, msg: fmt.Sprintf(format, args...)}
}

func noTable(format string, args ...any) error {
	return &userError{kind: ErrNoTable, msg: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &userError{kind: ErrConflict, msg: fmt.Sprintf(format, args...)}
}
