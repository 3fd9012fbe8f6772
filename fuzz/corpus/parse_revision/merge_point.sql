-- revision: 461bceb9192d
-- revises: 698149cafb6b, 4c491eae91c5
-- message: merge invoices and audit log
-- created: 2026-01-09T09:00:00Z

-- migrate:upgrade
-- a merge point: nothing to do

-- migrate:downgrade
-- a merge point: nothing to undo
