package io.countersign.analysis;

/** The SQL dialect a statement is written in; follows the wire protocol the agent speaks. */
public enum Dialect {
    POSTGRESQL,
    MYSQL
}
