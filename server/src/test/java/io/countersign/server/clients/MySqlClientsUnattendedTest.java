package io.countersign.server.clients;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.server.NettyLeakWatch;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.MariaDbDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Real clients, unattended" on MySQL: PyMySQL and SQLAlchemy's ORM (mysql+pymysql) through the
 * real proxy with the shipped default policy, on a Countersign that has only a MySQL listener.
 * Their ordinary traffic (the drivers' own SET/SHOW, reads, parameter escaping, writes with WHERE,
 * transactions, create_all, reflection) runs without a single hold; a sensitive read is held.
 */
@ExtendWith(NettyLeakWatch.class)
class MySqlClientsUnattendedTest {

    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    @TempDir
    static Path dir;

    static CountersignServer server;

    static final Map<String, String> AGENTS = new LinkedHashMap<>();

    static {
        AGENTS.put("pymysql-agent", "pymysql-pw");
        AGENTS.put("sqla-my-agent", "sqla-my-pw");
        AGENTS.put("sqla-my-sensitive", "sqla-mys-pw");
    }

    @BeforeAll
    static void start() throws Exception {
        db.execute("CREATE TABLE categories (id INT PRIMARY KEY, title VARCHAR(40) NOT NULL UNIQUE)",
                "INSERT INTO categories VALUES (1, 'tools'), (2, 'toys'), (3, 'books'), (4, 'food')",
                "CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10,2),"
                        + " category_id INT, FOREIGN KEY (category_id) REFERENCES categories(id))",
                "INSERT INTO products VALUES (1, 'product 1', 1.50, 1), (2, 'product 2', 3.00, 2), (3, 'product 3', 4.50, 1)",
                "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, email VARCHAR(80) NOT NULL)",
                "INSERT INTO customers VALUES (1, 'customer 1', 'c1@example.com'), (2, 'customer 2', 'c2@example.com')",
                "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT CHARACTER SET utf8mb4, amount DECIMAL(10,2))");
        StringBuilder agents = new StringBuilder();
        AGENTS.forEach((name, pw) -> agents.append("  - {name: ").append(name).append(", owner: dana@example.com, password: ")
                .append(pw).append(", backends: [").append(db.name()).append("]}\n"));
        String password = db.password() == null || db.password().isEmpty() ? "" : "    password: \"" + db.password() + "\"\n";
        // no listeners.postgres: a MySQL-only deployment is a valid one
        Path config = Files.writeString(dir.resolve("countersign.yaml"), """
                listeners:
                  mysql:
                    port: 0
                    auth: [mysql_native_password, caching_sha2_password]
                admin: {port: 0}
                data-dir: "%s"
                backends:
                  - name: %s
                    type: mysql
                    host: %s
                    port: %d
                    user: %s
                %s    tls: disable
                agents:
                %sanalysis:
                  sensitive-columns: ["*.customers.email"]
                approvals:
                  reviewers:
                    - {name: alice, email: alice@example.com, groups: [dba, security], token: %s}
                audit:
                  fsync: bounded
                  roll-seconds: 1
                """.formatted(dir.resolve("data"), db.name(), db.host(), db.port(), db.user(), password, agents,
                Clients.REVIEWER_TOKEN));
        server = CountersignServer.of(ConfigLoader.load(config, Map.of())).start();
        assertThat(server.postgresAddress()).as("no PostgreSQL listener was configured").isNull();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    private static ProcessBuilder python(Path script, String agent, String... args) {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script.toString(),
                String.valueOf(server.mysqlAddress().getPort()), agent, db.name()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("AGENT_PW", AGENTS.get(agent));
        return pb;
    }

    @Test
    void pymysqlReadsWritesEscapesAndTransactionsAreNotHeld() throws Exception {
        Path script = Clients.script(dir, "pymysql_client.py");
        Clients.Run run = Clients.runUnheld(server, "pymysql-agent", python(script, "pymysql-agent"), 60);
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out().lines().toList()).containsExactly(
                "version:ok",
                "tables:categories,customers,notes,products",
                "select:1=product 1=1.50,2=product 2=3.00,3=product 3=4.50",
                "escaped:same",
                "update:1:4.00",
                "rollback:3",
                "dict:2:two,3:three",
                "done");
    }

    @Test
    void sqlalchemyOrmCreateAllSessionsAndReflectionAreNotHeld() throws Exception {
        Path script = Clients.script(dir, "sqlalchemy_mysql_orm.py");
        ProcessBuilder pb = python(script, "sqla-my-agent", "categories");
        Clients.Run run = Clients.runUnheld(server, "sqla-my-agent", pb, 90);
        assertThat(run.exit()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines.get(0)).isEqualTo("orm:first=1.50,second's=7.00,third=None");
        assertThat(lines.get(1)).isEqualTo("after-rollback:3");
        assertThat(lines.get(2)).startsWith("tables:").contains("categories", "customers", "notes", "products", "tickets");
        assertThat(lines.subList(3, 5)).containsExactly("columns:id,name,price,category_id", "rows:3");
        // LIMIT without ORDER BY: MariaDB may read categories through its UNIQUE index, in title order
        assertThat(lines.subList(5, 8)).doesNotHaveDuplicates()
                .allSatisfy(l -> assertThat(l).isIn("row:1|tools", "row:2|toys", "row:3|books", "row:4|food"));
        assertThat(lines).hasSize(9).endsWith("done");
    }

    @Test
    void sqlalchemyThenSamplingCustomersHoldsOnlyTheSample() throws Exception {
        Path script = Clients.script(dir, "sqlalchemy_mysql_orm.py");
        ProcessBuilder pb = python(script, "sqla-my-sensitive", "customers");
        pb.environment().put("TICKETS_TABLE", "tickets_sensitive");
        Process p = pb.start();
        p.getOutputStream().close();
        var out = Clients.drain(p.getInputStream());
        var err = Clients.drain(p.getErrorStream());
        try {
            ApprovalRequest held = Clients.awaitRequest(server, "sqla-my-sensitive", r -> r.sql().contains("customers LIMIT 3"));
            assertThat(held.sql()).isEqualTo("SELECT * FROM customers LIMIT 3");
            assertThat(held.state()).isEqualTo(RequestState.PENDING);
            assertThat(held.sensitiveColumns()).anySatisfy(c -> assertThat(c).endsWith("customers.email"));
            // the ORM work and the reflection before it went through unheld: this is the agent's only request
            assertThat(Clients.reviewer(server).list(null, "sqla-my-sensitive", 100)).extracting(ApprovalRequest::id)
                    .containsExactly(held.id());
            assertThat(p.isAlive()).as("the script waits on the hold").isTrue();
            Clients.reviewer(server).approve(held.id(), "sample of customers for the test");
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(err.get()).isZero();
            assertThat(out.get().lines().toList()).contains("rows:2", "row:1|customer 1|c1@example.com", "done");
        } finally {
            p.destroyForcibly();
        }
    }
}
