package io.countersign.wire.mysql;

import io.countersign.testing.MariaDbDatabase;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementListener;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.function.UnaryOperator;

/** A real MySqlListener in front of a test class's MariaDB database, with two agents. */
final class ProxyFixture implements AutoCloseable {

    static final String AGENT = "agent";
    static final String PASSWORD = "s3cret-pw";
    static final String OTHER = "other-agent";
    static final String OTHER_PASSWORD = "other-pw";

    final MariaDbDatabase db;
    final MySqlListener listener;
    final InetSocketAddress address;
    final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    final MapAuthenticator authenticator = new MapAuthenticator();

    ProxyFixture(MariaDbDatabase db) throws InterruptedException {
        this(db, StatementGate.ALLOW_ALL, StatementListener.IGNORE, b -> b);
    }

    ProxyFixture(MariaDbDatabase db, StatementGate gate, StatementListener statements,
                 UnaryOperator<MySqlListener.Builder> customize) throws InterruptedException {
        this.db = db;
        BackendTarget target = backendTarget(db);
        authenticator.agent(AGENT, PASSWORD, target).agent(OTHER, OTHER_PASSWORD, target);
        MySqlListener.Builder b = MySqlListener.builder().bind(new InetSocketAddress("127.0.0.1", 0))
                .authenticator(authenticator).gate(gate).listener(statements).metrics(metrics)
                .serverVersion(db.server().greetingVersion()); // MariaDB's: native password is announced, as MariaDB does
        listener = customize.apply(b).build();
        address = listener.start();
    }

    static BackendTarget backendTarget(MariaDbDatabase db) {
        return new BackendTarget("test-mariadb", db.host(), db.port(), db.name(), db.user(), db.password(),
                BackendTarget.TlsMode.DISABLE);
    }

    int port() {
        return address.getPort();
    }

    /** MySQL Connector/J URL through the proxy; {@code extra} is appended to the query string. */
    String mysqlUrl(String extra) {
        return "jdbc:mysql://127.0.0.1:" + port() + "/" + db.name() + "?sslMode=DISABLED&allowPublicKeyRetrieval=true"
                + (extra.isEmpty() ? "" : "&" + extra);
    }

    /** MySQL Connector/J URL straight to the server. */
    String directMysqlUrl(String extra) {
        return "jdbc:mysql://" + db.host() + ":" + db.port() + "/" + db.name() + "?sslMode=DISABLED&allowPublicKeyRetrieval=true"
                + (extra.isEmpty() ? "" : "&" + extra);
    }

    /** MariaDB Connector/J URL through the proxy. */
    String mariadbUrl(String extra) {
        return "jdbc:mariadb://127.0.0.1:" + port() + "/" + db.name() + "?allowPublicKeyRetrieval=true"
                + (extra.isEmpty() ? "" : "&" + extra);
    }

    Connection mariadbJ(String extra) throws SQLException {
        return DriverManager.getConnection(mariadbUrl(extra), AGENT, PASSWORD);
    }

    Connection connectorJ(String extra) throws SQLException {
        return DriverManager.getConnection(mysqlUrl(extra), AGENT, PASSWORD);
    }

    Connection directConnectorJ(String extra) throws SQLException {
        return DriverManager.getConnection(directMysqlUrl(extra), db.user(), db.password());
    }

    @Override
    public void close() {
        listener.close();
    }
}
