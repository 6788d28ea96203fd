package io.countersign.wire.spi;

/** The wire protocol an agent speaks to Countersign. */
public enum Protocol {
    POSTGRESQL,
    MYSQL
}
