package storage

import "time"

// jsTime is a timestamp as Supabase Storage's JSON has it: JavaScript's toISOString, always
// UTC with exactly three fractional digits ("2021-02-17T04:43:32.770Z"), where Go would
// write PostgreSQL's microseconds and drop trailing zeros. Clients that compare or snapshot
// these strings see the same text from both servers.
type jsTime time.Time

// MarshalJSON writes the time as toISOString does.
func (t jsTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(lastModifiedLayout) + `"`), nil
}

// jsTimeOf converts a nullable timestamp.
func jsTimeOf(t *time.Time) *jsTime {
	if t == nil {
		return nil
	}
	v := jsTime(*t)
	return &v
}
