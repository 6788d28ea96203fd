package io.countersign.audit;

/** The wire protocol the agent spoke. */
public enum Protocol { PG, MYSQL }
