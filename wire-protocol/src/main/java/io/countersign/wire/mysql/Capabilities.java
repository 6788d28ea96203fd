package io.countersign.wire.mysql;

/** MySQL client/server capability flags (protocol 4.1) and server status flags used by the proxy. */
final class Capabilities {

    private Capabilities() {}

    static final int LONG_PASSWORD = 1;
    static final int FOUND_ROWS = 1 << 1;
    static final int LONG_FLAG = 1 << 2;
    static final int CONNECT_WITH_DB = 1 << 3;
    static final int LOCAL_FILES = 1 << 7;
    static final int IGNORE_SPACE = 1 << 8;
    static final int PROTOCOL_41 = 1 << 9;
    static final int INTERACTIVE = 1 << 10;
    static final int SSL = 1 << 11;
    static final int TRANSACTIONS = 1 << 13;
    static final int RESERVED = 1 << 14;
    static final int SECURE_CONNECTION = 1 << 15;
    static final int MULTI_STATEMENTS = 1 << 16;
    static final int MULTI_RESULTS = 1 << 17;
    static final int PS_MULTI_RESULTS = 1 << 18;
    static final int PLUGIN_AUTH = 1 << 19;
    static final int CONNECT_ATTRS = 1 << 20;
    static final int PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21;
    static final int DEPRECATE_EOF = 1 << 24;

    /** What Countersign offers agents (SSL is added when TLS is configured; LOCAL_FILES never). */
    static final int OFFERED = LONG_PASSWORD | FOUND_ROWS | LONG_FLAG | CONNECT_WITH_DB | IGNORE_SPACE | PROTOCOL_41
            | INTERACTIVE | TRANSACTIONS | RESERVED | SECURE_CONNECTION | MULTI_STATEMENTS | MULTI_RESULTS
            | PS_MULTI_RESULTS | PLUGIN_AUTH | CONNECT_ATTRS | PLUGIN_AUTH_LENENC_CLIENT_DATA | DEPRECATE_EOF;

    /**
     * Flags that change what the backend sends back and therefore must be the same on both legs so
     * packets can be relayed untouched.
     */
    static final int RELAYED = LONG_PASSWORD | FOUND_ROWS | LONG_FLAG | IGNORE_SPACE | INTERACTIVE | TRANSACTIONS
            | MULTI_STATEMENTS | MULTI_RESULTS | PS_MULTI_RESULTS | DEPRECATE_EOF;

    // server status flags
    static final int STATUS_IN_TRANS = 1;
    static final int STATUS_AUTOCOMMIT = 2;
    static final int STATUS_MORE_RESULTS = 8;
    static final int STATUS_CURSOR_EXISTS = 0x40;
}
