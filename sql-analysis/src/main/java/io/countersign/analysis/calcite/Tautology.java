package io.countersign.analysis.calcite;

import org.apache.calcite.sql.SqlBasicCall;
import org.apache.calcite.sql.SqlIdentifier;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.sql.SqlLiteral;
import org.apache.calcite.sql.SqlNode;
import org.apache.calcite.sql.SqlNodeList;

/**
 * Recognises WHERE clauses that hold for every row. Conservative on purpose: a comparison of two constants
 * counts as always true whatever the constants are, because analyses are cached by fingerprint and
 * fingerprints do not keep literals.
 */
final class Tautology {

    private Tautology() {}

    static boolean alwaysTrue(SqlNode n) {
        return alwaysTrue(n, java.util.Set.of());
    }

    /**
     * @param notNullColumns column names that cannot be NULL (the primary key): {@code pk IS NOT NULL} and
     *                       {@code pk = pk} hold for every row
     */
    static boolean alwaysTrue(SqlNode n, java.util.Set<String> notNullColumns) {
        if (n instanceof SqlLiteral lit) {
            Object v = lit.getValue();
            if (v instanceof Boolean b) {
                return b;
            }
            return lit.getTypeName().getFamily() == org.apache.calcite.sql.type.SqlTypeFamily.NUMERIC
                    || lit.getTypeName().getFamily() == org.apache.calcite.sql.type.SqlTypeFamily.CHARACTER;
        }
        if (!(n instanceof SqlBasicCall c)) {
            return false;
        }
        SqlKind k = c.getKind();
        switch (k) {
            case OR -> {
                for (SqlNode o : c.getOperandList()) {
                    if (alwaysTrue(o, notNullColumns)) {
                        return true;
                    }
                }
                return false;
            }
            case AND -> {
                for (SqlNode o : c.getOperandList()) {
                    if (!alwaysTrue(o, notNullColumns)) {
                        return false;
                    }
                }
                return true;
            }
            case NOT -> {
                return constant(c.operand(0));
            }
            case EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN_OR_EQUAL, LIKE,
                 IS_NOT_DISTINCT_FROM, IS_DISTINCT_FROM, IN, NOT_IN, BETWEEN -> {
                boolean allConst = true;
                for (SqlNode o : c.getOperandList()) {
                    if (!constant(o)) {
                        allConst = false;
                    }
                }
                if (allConst) {
                    return true;
                }
                // x LIKE '%'
                if (k == SqlKind.LIKE && c.operandCount() >= 2 && c.operand(1) instanceof SqlLiteral p
                        && "%".equals(p.toValue())) {
                    return true;
                }
                // x = x
                return c.operandCount() == 2 && c.operand(0) instanceof SqlIdentifier a && c.operand(1) instanceof SqlIdentifier b
                        && a.names.equals(b.names);
            }
            case IS_NOT_NULL -> {
                return constant(c.operand(0)) || c.operand(0) instanceof SqlIdentifier id
                        && notNullColumns.contains(id.names.get(id.names.size() - 1).toLowerCase(java.util.Locale.ROOT));
            }
            case IS_TRUE, IS_NOT_FALSE -> {
                return constant(c.operand(0));
            }
            default -> {
                return false;
            }
        }
    }

    private static boolean constant(SqlNode n) {
        if (n instanceof SqlLiteral) {
            return true;
        }
        if (n instanceof SqlNodeList l) {
            for (SqlNode o : l) {
                if (!constant(o)) {
                    return false;
                }
            }
            return true;
        }
        if (n instanceof SqlBasicCall c && c.getKind() != SqlKind.OTHER_FUNCTION) {
            for (SqlNode o : c.getOperandList()) {
                if (!constant(o)) {
                    return false;
                }
            }
            return c.operandCount() > 0;
        }
        return false;
    }
}
