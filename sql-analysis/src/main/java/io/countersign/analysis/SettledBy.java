package io.countersign.analysis;

/** The analysis layer that settled a statement; reported per statement and in metrics. */
public enum SettledBy {
    LEXER,
    CALCITE,
    CATALOG_ONLY,
    EXPLAIN,
    /** Nothing settled it: the statement is UNANALYSABLE. */
    NONE
}
