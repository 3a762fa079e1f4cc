-- A step's input is usually the output of the step before it, byte for byte. input_ref names that step (by seq,
-- within the run; a trigger step names itself) instead of storing the same JSON twice; 0 means the input is in
-- the input column. The store resolves references when it reads steps.

-- +goose Up
ALTER TABLE steps ADD COLUMN input_ref INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE steps DROP COLUMN input_ref;
