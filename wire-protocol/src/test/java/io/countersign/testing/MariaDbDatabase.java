package io.countersign.testing;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 extension giving a test class its own fresh database on the shared {@link MariaDbServer}.
 * Use as a static field: {@code @RegisterExtension static MariaDbDatabase db = new MariaDbDatabase();}
 */
public final class MariaDbDatabase implements BeforeAllCallback, AfterAllCallback {

    private static final AtomicInteger COUNTER = new AtomicInteger();

    private MariaDbServer server;
    private String name;

    @Override
    public void beforeAll(ExtensionContext context) throws SQLException {
        server = MariaDbServer.shared();
        String cls = context.getRequiredTestClass().getSimpleName().toLowerCase(Locale.ROOT);
        name = "cs_" + cls + "_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
        if (name.length() > 60) {
            name = name.substring(name.length() - 60);
        }
        try (Connection c = server.connect(""); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS `" + name + "`");
            s.execute("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4");
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws SQLException {
        try (Connection c = server.connect(""); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS `" + name + "`");
        }
    }

    public MariaDbServer server() { return server; }
    public String name() { return name; }
    public String host() { return server.host(); }
    public int port() { return server.port(); }
    public String user() { return server.user(); }
    public String password() { return server.password(); }
    /** MariaDB Connector/J URL straight to the server (not through the proxy). */
    public String jdbcUrl() { return server.jdbcUrl(name); }

    public Connection connect() throws SQLException {
        return server.connect(name);
    }

    /** Runs statements directly against the server (setup, not through the proxy). */
    public void execute(String... sql) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            for (String q : sql) {
                s.execute(q);
            }
        }
    }
}
