// Package sqlstore implements agentphone.Store once, on database/sql, for
// every SQL database this server supports. The backends (packages sqlite and
// postgres) open the pools, describe their few differences in a Dialect and
// bring their own migrations; the queries are shared because both databases
// accept $1 placeholders, RETURNING, INSERT … ON CONFLICT … DO UPDATE and
// partial unique indexes.
//
// A Store holds two pools: write, on which every change and every
// transaction runs, and read, for plain reads. On SQLite write is a
// one-connection pool opening IMMEDIATE transactions, so writers queue in Go
// rather than failing with SQLITE_BUSY, and read is a pool of query-only
// connections that WAL lets run beside the writer. On PostgreSQL both are the
// same pool.
//
// Only the backends and their tests (storetest) should use this package
// directly; everything else sees an agentphone.Store.
package sqlstore
