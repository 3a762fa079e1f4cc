package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Run data at rest. Trigger payloads, checkpoints, answers, errors and step inputs and outputs carry customers'
// names, phones, addresses and card numbers. With a Sealer set, the store encrypts each of these values before
// writing it and decrypts it when reading, so a copy of the database or a backup shows none of it; everything
// above the store sees plain JSON. A sealed value is stored as a JSON string,
// "ferry-sealed:v1:<key id>:<base64>", so the columns keep their JSON types, and values written before sealing
// was enabled still read as they are. Each value is bound to its run and field (the AEAD's associated data), so
// a sealed value copied into another row does not open.

// Sealer encrypts and decrypts with a key named by its id; the credential vault is one.
type Sealer interface {
	Seal(plaintext []byte, context string) (keyID string, sealed []byte, err error)
	Open(keyID string, sealed []byte, context string) ([]byte, error)
}

// SealerSetter is implemented by stores that can encrypt run data at rest.
type SealerSetter interface {
	// SetSealer makes the store seal run data written from now on; nil turns sealing off (values already sealed
	// still need a sealer to be read).
	SetSealer(Sealer)
}

const sealedPrefix = `"ferry-sealed:v1:`

// ErrSealed is returned when sealed run data is read without a sealer, or with keys that cannot open it.
var ErrSealed = errors.New("store: run data is sealed with a key this process does not have")

func (s *gormStore) SetSealer(se Sealer) { s.sealer = se }

func (s *gormStore) sealValue(p *string, context string) error {
	if s.sealer == nil || p == nil || *p == "" {
		return nil
	}
	id, ct, err := s.sealer.Seal([]byte(*p), context)
	if err != nil {
		return fmt.Errorf("store: seal %s: %w", context, err)
	}
	var b bytes.Buffer
	b.Grow(len(sealedPrefix) + len(id) + base64.RawStdEncoding.EncodedLen(len(ct)) + 2)
	b.WriteString(sealedPrefix)
	b.WriteString(id)
	b.WriteByte(':')
	enc := base64.NewEncoder(base64.RawStdEncoding, &b)
	_, _ = enc.Write(ct)
	_ = enc.Close()
	b.WriteByte('"')
	v := b.String()
	*p = v
	return nil
}

func (s *gormStore) openValue(p *string, context string) error {
	if p == nil || len(*p) < len(sealedPrefix) || (*p)[:len(sealedPrefix)] != sealedPrefix {
		return nil
	}
	rest := (*p)[len(sealedPrefix) : len(*p)-1]
	id, b64, ok := cut(rest, ':')
	if !ok {
		return fmt.Errorf("store: open %s: malformed sealed value", context)
	}
	if s.sealer == nil {
		return fmt.Errorf("store: open %s: %w", context, ErrSealed)
	}
	ct, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", context, err)
	}
	plain, err := s.sealer.Open(id, ct, context)
	if err != nil {
		return fmt.Errorf("store: open %s: %w: %v", context, ErrSealed, err)
	}
	v := string(plain)
	*p = v
	return nil
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func runContext(runID, field string) string { return "run/" + runID + "/" + field }

func stepContext(runID, nodeID, field string) string {
	return "step/" + runID + "/" + nodeID + "/" + field
}

// sealRunRow seals the run data columns of row in place.
func (s *gormStore) sealRunRow(row *runRow) error {
	for field, p := range map[string]*string{"trigger": row.Trigger, "checkpoint": row.Checkpoint, "error": row.Error, "response": row.Response} {
		if err := s.sealValue(p, runContext(row.ID, field)); err != nil {
			return err
		}
	}
	return nil
}

// openRunRow opens the run data columns of row in place.
func (s *gormStore) openRunRow(row *runRow) error {
	for field, p := range map[string]*string{"trigger": row.Trigger, "checkpoint": row.Checkpoint, "error": row.Error, "response": row.Response} {
		if err := s.openValue(p, runContext(row.ID, field)); err != nil {
			return err
		}
	}
	return nil
}

func (s *gormStore) sealStepRow(row *stepRow) error {
	for field, p := range map[string]*string{"input": row.Input, "output": row.Output, "error": row.Error} {
		if err := s.sealValue(p, stepContext(row.RunID, row.NodeID, field)); err != nil {
			return err
		}
	}
	return nil
}

func (s *gormStore) openStepRow(row *stepRow) error {
	for field, p := range map[string]*string{"input": row.Input, "output": row.Output, "error": row.Error} {
		if err := s.openValue(p, stepContext(row.RunID, row.NodeID, field)); err != nil {
			return err
		}
	}
	return nil
}

// sealedArg seals a JSON value for an UPDATE of a run's column; nil stays NULL.
func (s *gormStore) sealedArg(runID, field string, raw []byte) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v := string(raw)
	if err := s.sealValue(&v, runContext(runID, field)); err != nil {
		return nil, err
	}
	return v, nil
}

// RunDataResealer is implemented by stores that can re-encrypt sealed run data under the sealer's current key,
// for `ferry keys rotate`.
type RunDataResealer interface {
	// ResealRunData re-seals, under currentKeyID, the run data of up to limit runs with ids after `after` (and
	// their steps), in one transaction. It returns the last run id it looked at ("" when there are no more) and
	// how many values it re-sealed.
	ResealRunData(ctx context.Context, currentKeyID, after string, limit int) (last string, resealed int, err error)
}

// sealedKeyID returns the key id of a sealed value, or "" for a plain one.
func sealedKeyID(p *string) string {
	if p == nil || len(*p) < len(sealedPrefix) || (*p)[:len(sealedPrefix)] != sealedPrefix {
		return ""
	}
	id, _, _ := cut((*p)[len(sealedPrefix):], ':')
	return id
}

// reseal re-seals *p under the current key when it is sealed under another; it reports whether it changed.
func (s *gormStore) reseal(p *string, context, currentKeyID string) (bool, error) {
	id := sealedKeyID(p)
	if id == "" || id == currentKeyID {
		return false, nil
	}
	if err := s.openValue(p, context); err != nil {
		return false, err
	}
	return true, s.sealValue(p, context)
}

func (s *gormStore) ResealRunData(ctx context.Context, currentKeyID, after string, limit int) (string, int, error) {
	if s.sealer == nil {
		return "", 0, fmt.Errorf("store: reseal run data: %w", ErrSealed)
	}
	var last string
	resealed := 0
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var runs []runRow
		if err := tx.Select("id", "trigger_payload", "checkpoint", "error", "response").Where("id > ?", after).
			Order("id").Limit(limit).Find(&runs).Error; err != nil {
			return fmt.Errorf("store: reseal run data: %w", err)
		}
		if len(runs) == 0 {
			return nil
		}
		last = runs[len(runs)-1].ID
		ids := make([]string, len(runs))
		for i := range runs {
			r := &runs[i]
			ids[i] = r.ID
			set := map[string]any{}
			for col, f := range map[string]struct {
				p     *string
				field string
			}{"trigger_payload": {r.Trigger, "trigger"}, "checkpoint": {r.Checkpoint, "checkpoint"}, "error": {r.Error, "error"}, "response": {r.Response, "response"}} {
				changed, err := s.reseal(f.p, runContext(r.ID, f.field), currentKeyID)
				if err != nil {
					return err
				}
				if changed {
					set[col] = *f.p
				}
			}
			if len(set) > 0 {
				if err := tx.Model(&runRow{}).Where("id = ?", r.ID).Updates(set).Error; err != nil {
					return fmt.Errorf("store: reseal run %s: %w", r.ID, err)
				}
				resealed += len(set)
			}
		}
		var steps []stepRow
		if err := tx.Select("run_id", "seq", "node_id", "input", "output", "error").Where("run_id IN ?", ids).Find(&steps).Error; err != nil {
			return fmt.Errorf("store: reseal steps: %w", err)
		}
		for i := range steps {
			st := &steps[i]
			set := map[string]any{}
			for col, p := range map[string]*string{"input": st.Input, "output": st.Output, "error": st.Error} {
				changed, err := s.reseal(p, stepContext(st.RunID, st.NodeID, col), currentKeyID)
				if err != nil {
					return err
				}
				if changed {
					set[col] = *p
				}
			}
			if len(set) > 0 {
				if err := tx.Model(&stepRow{}).Where("run_id = ? AND seq = ?", st.RunID, st.Seq).Updates(set).Error; err != nil {
					return fmt.Errorf("store: reseal step %s/%d: %w", st.RunID, st.Seq, err)
				}
				resealed += len(set)
			}
		}
		var waits []waitRow
		if err := tx.Select("id", "run_id", "request", "decision").Where("run_id IN ?", ids).Find(&waits).Error; err != nil {
			return fmt.Errorf("store: reseal waits: %w", err)
		}
		for i := range waits {
			w := &waits[i]
			set := map[string]any{}
			for col, p := range map[string]*string{"request": w.Request, "decision": w.Decision} {
				changed, err := s.reseal(p, waitContext(w.RunID, w.ID, col), currentKeyID)
				if err != nil {
					return err
				}
				if changed {
					set[col] = *p
				}
			}
			if len(set) > 0 {
				if err := tx.Model(&waitRow{}).Where("id = ?", w.ID).Updates(set).Error; err != nil {
					return fmt.Errorf("store: reseal wait %s: %w", w.ID, err)
				}
				resealed += len(set)
			}
		}
		return nil
	})
	return last, resealed, err
}
