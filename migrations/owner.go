package migrations

import (
	"fmt"
	"strings"
)

// Owner is the database role that runs the migrations in AWS and so owns
// the schema (the CDK app creates it; locally the server's superuser
// migrates).
const Owner = "wallets"

// OwnerBootstrapSQL creates Owner once and (re)applies what it needs to run
// the migrations on database: IAM authentication (rds_iam, with the admin
// option so that migration 00006 can grant it to RuntimeRole), CREATEROLE
// (so that 00006 can create RuntimeRole), and the right to create the
// schema, with the grant option so that the migrations can let RuntimeRole
// use it. The CDK app runs it, as the cluster's master user, through the
// RDS Data API: one statement, so that the Data API runs it whole.
func OwnerBootstrapSQL(database string) string {
	return strings.Join([]string{
		"DO $$",
		"BEGIN",
		fmt.Sprintf("  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '%s') THEN", Owner),
		fmt.Sprintf("    CREATE ROLE %s LOGIN CREATEROLE;", Owner),
		"  END IF;",
		fmt.Sprintf("  ALTER ROLE %s CREATEROLE;", Owner),
		fmt.Sprintf("  GRANT rds_iam TO %s WITH ADMIN OPTION;", Owner),
		fmt.Sprintf("  GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %s TO %s;", database, Owner),
		fmt.Sprintf("  GRANT USAGE, CREATE ON SCHEMA public TO %s WITH GRANT OPTION;", Owner),
		"END",
		"$$",
	}, "\n")
}
