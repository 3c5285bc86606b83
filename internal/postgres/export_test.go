package postgres

// UserEventsTable is the table ListEvents reads, for the plan test.
const UserEventsTable = userEvents
