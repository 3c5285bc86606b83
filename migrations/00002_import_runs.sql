-- +goose Up
-- One row per run of the Django importer (cmd/wallets-import): when it ran,
-- what it read, how it ended and its report. The service never reads it.
CREATE TABLE import_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text        NOT NULL, -- the old database, without its password
    status      text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    report      jsonb
);

-- +goose Down
DROP TABLE import_runs;
