package io.countersign.analysis.calcite;

/**
 * A query rewritten for Calcite's Babel parser.
 *
 * @param sql           the text to parse
 * @param returning     a RETURNING list rewritten as a select list, or null
 * @param upsertSet     an ON CONFLICT DO UPDATE / ON DUPLICATE KEY UPDATE assignment list ("a = x, b = y"), or null
 * @param upsertWhere   the ON CONFLICT DO UPDATE ... WHERE condition, or null
 * @param intoTarget    SELECT ... INTO target (PostgreSQL: a new table), or null
 */
public record Normalized(String sql, String returning, String upsertSet, String upsertWhere, String intoTarget) {}
