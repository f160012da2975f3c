#pragma once

// The SQL PostgresBolt sends: identifiers quoted, one multi-row INSERT (or upsert) per statement
// with $n parameters. Pure text, tested without a server.

#include <cstddef>
#include <string>
#include <vector>

namespace gale::bolts::postgres {

// "name" with embedded quotes doubled; a dotted name ("schema.table") is quoted part by part.
std::string quote_identifier(const std::string& name, bool dotted = false);

// What the INSERT does on a conflict: nothing special, DO UPDATE, or DO NOTHING.
enum class OnConflict { none, update, nothing };

struct StatementShape {
  std::string table;                          // possibly schema-qualified
  std::vector<std::string> columns;
  OnConflict on_conflict = OnConflict::none;
  std::vector<std::string> conflict_columns;  // required unless on_conflict == none
  // The DO UPDATE SET clause; empty: every column outside conflict_columns = EXCLUDED.column.
  std::string update_set;
};

// INSERT INTO t (c1, c2) VALUES ($1, $2), ($3, $4) [ON CONFLICT (...) DO ...] for `rows` rows.
std::string insert_statement(const StatementShape& shape, std::size_t rows);

// The most rows one statement may carry: PostgreSQL takes at most 65535 parameters.
std::size_t max_rows_per_statement(std::size_t columns);

}  // namespace gale::bolts::postgres
