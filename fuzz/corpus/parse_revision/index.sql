-- revision: 698149cafb6b
-- revises: 5c1ae7dbdef5
-- message: index invoices by account
-- created: 2026-01-08T09:00:00Z

-- migrate:upgrade
CREATE INDEX invoice_account_id ON invoice (account_id);

-- migrate:downgrade
DROP INDEX invoice_account_id;
