#include "statement.hpp"

#include <algorithm>

namespace gale::bolts::postgres {

std::string quote_identifier(const std::string& name, bool dotted) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') {
      out += "\"\"";
    } else if (c == '.' && dotted) {
      out += "\".\"";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string insert_statement(const StatementShape& shape, std::size_t rows) {
  std::string sql = "INSERT INTO " + quote_identifier(shape.table, true) + " (";
  for (std::size_t c = 0; c < shape.columns.size(); ++c) {
    if (c > 0) sql += ", ";
    sql += quote_identifier(shape.columns[c]);
  }
  sql += ") VALUES ";
  std::size_t param = 1;
  for (std::size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (std::size_t c = 0; c < shape.columns.size(); ++c) {
      if (c > 0) sql += ", ";
      sql += "$" + std::to_string(param++);
    }
    sql += ")";
  }
  if (shape.on_conflict == OnConflict::none) return sql;
  sql += " ON CONFLICT (";
  for (std::size_t c = 0; c < shape.conflict_columns.size(); ++c) {
    if (c > 0) sql += ", ";
    sql += quote_identifier(shape.conflict_columns[c]);
  }
  sql += ")";
  if (shape.on_conflict == OnConflict::nothing) return sql + " DO NOTHING";
  sql += " DO UPDATE SET ";
  if (!shape.update_set.empty()) return sql + shape.update_set;
  bool first = true;
  for (const std::string& column : shape.columns) {
    const auto& keys = shape.conflict_columns;
    if (std::find(keys.begin(), keys.end(), column) != keys.end()) continue;
    if (!first) sql += ", ";
    first = false;
    sql += quote_identifier(column) + " = EXCLUDED." + quote_identifier(column);
  }
  // Every column is a conflict column: nothing to set, but DO UPDATE needs a SET.
  if (first) {
    sql += quote_identifier(shape.columns.front()) + " = EXCLUDED." +
           quote_identifier(shape.columns.front());
  }
  return sql;
}

std::size_t max_rows_per_statement(std::size_t columns) {
  return std::max<std::size_t>(1, 65535 / std::max<std::size_t>(1, columns));
}

}  // namespace gale::bolts::postgres
