package io.countersign.server.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.analysis.Dialect;
import io.countersign.server.auth.ConfigAgentAuthenticator;
import io.countersign.server.config.BackendConfig;
import io.countersign.server.config.BackendType;
import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import io.countersign.server.config.MySqlAuthMethod;
import io.countersign.wire.spi.AgentAuthenticator.Route;
import io.countersign.wire.spi.Protocol;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** listeners.mysql, backend types, and which listener's agents reach which backends. */
class MySqlConfigTest {

    static final String BOTH = """
            listeners:
              postgres: {port: 0}
              mysql: {port: 0}
            backends:
              - name: pgdb
                host: 127.0.0.1
                user: postgres
              - name: shop
                type: mysql
                host: 127.0.0.1
                user: root
            agents:
              - name: bot
                owner: dana@example.com
                password: pw
                backends: ["*"]
            """;

    static CountersignConfig parse(String yaml) {
        return ConfigLoader.parse(yaml, "test.yaml", Map.of());
    }

    @Test
    void backendTypeDefaultsToPostgresqlAndPicksPortAndDialect() {
        CountersignConfig c = parse(BOTH);
        BackendConfig pg = c.backends().get(0);
        BackendConfig my = c.backends().get(1);
        assertThat(pg.type()).isEqualTo(BackendType.POSTGRESQL);
        assertThat(pg.port()).isEqualTo(5432);
        assertThat(my.type()).isEqualTo(BackendType.MYSQL);
        assertThat(my.port()).isEqualTo(3306);
        assertThat(my.type().dialect()).isEqualTo(Dialect.MYSQL);
        assertThat(c.listeners().mysql().host()).isEqualTo("127.0.0.1");
        assertThat(c.listeners().mysql().auth())
                .containsExactly(MySqlAuthMethod.CACHING_SHA2_PASSWORD, MySqlAuthMethod.MYSQL_NATIVE_PASSWORD);
    }

    @Test
    void authMethodsAreMySqlPluginNames() {
        CountersignConfig c = parse(BOTH.replace("mysql: {port: 0}", "mysql: {port: 0, auth: [mysql_native_password]}"));
        assertThat(c.listeners().mysql().auth()).containsExactly(MySqlAuthMethod.MYSQL_NATIVE_PASSWORD);
        assertThatThrownBy(() -> parse(BOTH.replace("mysql: {port: 0}", "mysql: {port: 0, auth: [sha256_password]}")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("sha256_password");
    }

    @Test
    void aMySqlBackendMayBeASocketInsteadOfHostAndPort() {
        CountersignConfig c = parse(BOTH.replace("    type: mysql\n    host: 127.0.0.1\n", "    type: mysql\n    socket: /run/mysqld/mysqld.sock\n"));
        BackendConfig my = c.backends().get(1);
        assertThat(my.viaSocket()).isTrue();
        assertThat(my.port()).isNull();
        assertThat(my.where()).isEqualTo("unix:/run/mysqld/mysqld.sock");
        // the default tls (prefer) means none over a socket
        assertThat(my.target().tls()).isEqualTo(io.countersign.wire.spi.BackendTarget.TlsMode.DISABLE);
        assertThat(my.target().socket()).isEqualTo("/run/mysqld/mysqld.sock");
        assertThat(my.target().where()).isEqualTo("unix:/run/mysqld/mysqld.sock");
    }

    @Test
    void aSocketBackendIsCheckedForWhatASocketCannotDo() {
        assertThat(problems(BOTH.replace("    type: mysql\n    host: 127.0.0.1\n",
                "    type: mysql\n    host: 127.0.0.1\n    socket: /run/mysqld/mysqld.sock\n")))
                .anySatisfy(p -> assertThat(p).startsWith("backends[1].socket:").contains("both socket and host"));
        assertThat(problems(BOTH.replace("    type: mysql\n    host: 127.0.0.1\n", "    type: mysql\n    socket: mysqld.sock\n")))
                .anySatisfy(p -> assertThat(p).startsWith("backends[1].socket:").contains("not an absolute path"));
        assertThat(problems(BOTH.replace("    type: mysql\n    host: 127.0.0.1\n",
                "    type: mysql\n    socket: /run/mysqld/mysqld.sock\n    tls: verify-full\n")))
                .anySatisfy(p -> assertThat(p).startsWith("backends[1].tls:").contains("never leaves the machine"));
        assertThat(problems(BOTH.replace("  - name: pgdb\n    host: 127.0.0.1\n",
                "  - name: pgdb\n    socket: /var/run/postgresql/.s.PGSQL.5432\n")))
                .anySatisfy(p -> assertThat(p).startsWith("backends[0].socket:").contains("type mysql only"));
        assertThat(problems(BOTH.replace("    type: mysql\n    host: 127.0.0.1\n", "    type: mysql\n")))
                .anySatisfy(p -> assertThat(p).startsWith("backends[1].host:").contains("socket"));
    }

    @Test
    void eventLoopThreadsIsAPositiveCount() {
        assertThat(parse(BOTH.replace("mysql: {port: 0}", "mysql: {port: 0, event-loop-threads: 1}")).listeners().mysql()
                .eventLoopThreads()).isEqualTo(1);
        assertThat(parse(BOTH).listeners().mysql().eventLoopThreads()).isNull();
        assertThat(problems(BOTH.replace("mysql: {port: 0}", "mysql: {port: 0, event-loop-threads: 0}")))
                .anySatisfy(p -> assertThat(p).startsWith("listeners.mysql.event-loop-threads:"));
    }

    static List<String> problems(String yaml) {
        ConfigException e = (ConfigException) org.assertj.core.api.Assertions.catchThrowable(() -> parse(yaml));
        assertThat(e).as("a config error for:\n" + yaml).isNotNull();
        return e.problems().stream().map(p -> p.keyPath() + ": " + p.problem()).toList();
    }

    @Test
    void aMySqlBackendWithoutAMySqlListenerIsAConfigError() {
        ConfigException e = (ConfigException) org.assertj.core.api.Assertions.catchThrowable(
                () -> parse(BOTH.replace("  mysql: {port: 0}\n", "")));
        assertThat(e).isNotNull();
        assertThat(e.problems()).anySatisfy(p -> {
            assertThat(p.keyPath()).isEqualTo("backends[1].type");
            assertThat(p.problem()).contains("listeners.mysql");
        });
    }

    @Test
    void aMySqlListenerWithoutAMySqlBackendIsAConfigError() {
        String yaml = BOTH.replace("""
                  - name: shop
                    type: mysql
                    host: 127.0.0.1
                    user: root
                """, "");
        ConfigException e = (ConfigException) org.assertj.core.api.Assertions.catchThrowable(() -> parse(yaml));
        assertThat(e).isNotNull();
        assertThat(e.problems()).anySatisfy(p -> {
            assertThat(p.keyPath()).isEqualTo("listeners.mysql");
            assertThat(p.problem()).contains("type: mysql");
        });
    }

    @Test
    void aPostgresqlAndAMySqlBackendMayShareANameButTwoMySqlBackendsMayNot() {
        CountersignConfig shared = parse(BOTH.replace("- name: pgdb", "- name: shop"));
        assertThat(shared.backends()).extracting(BackendConfig::name).containsExactly("shop", "shop");
        assertThat(new ConfigAgentAuthenticator(shared, Protocol.MYSQL).route("bot", "shop"))
                .isInstanceOfSatisfying(Route.Backend.class, b -> assertThat(b.target().port()).isEqualTo(3306));
        assertThat(new ConfigAgentAuthenticator(shared).route("bot", "shop"))
                .isInstanceOfSatisfying(Route.Backend.class, b -> assertThat(b.target().port()).isEqualTo(5432));

        String twice = BOTH.replace("- name: pgdb", "- name: shop\n    type: mysql");
        ConfigException e = (ConfigException) org.assertj.core.api.Assertions.catchThrowable(() -> parse(twice));
        assertThat(e).isNotNull();
        assertThat(e.problems()).anySatisfy(p -> {
            assertThat(p.keyPath()).isEqualTo("backends[1].name");
            assertThat(p.problem()).contains("'shop' is already used by backends[0]");
        });
    }

    @Test
    void eachListenerRoutesOnlyToBackendsOfItsProtocol() {
        CountersignConfig c = parse(BOTH);
        ConfigAgentAuthenticator mysql = new ConfigAgentAuthenticator(c, Protocol.MYSQL);
        ConfigAgentAuthenticator pg = new ConfigAgentAuthenticator(c);

        assertThat(mysql.route("bot", "shop")).isInstanceOfSatisfying(Route.Backend.class,
                b -> assertThat(b.target().port()).isEqualTo(3306));
        assertThat(pg.route("bot", "pgdb")).isInstanceOf(Route.Backend.class);

        assertThat(mysql.route("bot", "pgdb")).isInstanceOfSatisfying(Route.Refused.class, r -> {
            assertThat(r.error().mysqlCode()).isEqualTo(1049);
            assertThat(r.error().message()).contains("postgresql backend");
        });
        assertThat(pg.route("bot", "shop")).isInstanceOfSatisfying(Route.Refused.class,
                r -> assertThat(r.error().message()).contains("mysql backend"));
        // without a database: the agent's only MySQL backend (the PostgreSQL one does not count here)
        assertThat(mysql.route("bot", null)).isInstanceOfSatisfying(Route.Backend.class,
                b -> assertThat(b.target().name()).isEqualTo("shop"));
        assertThat(mysql.route("bot", "")).isInstanceOf(Route.Backend.class);
        assertThat(mysql.route("bot", "nosuch")).isInstanceOfSatisfying(Route.Refused.class,
                r -> assertThat(r.error().detail()).contains("shop"));
        assertThat(List.of(c.backends().get(1).target().database())).containsExactly("shop");
    }

    @Test
    void withoutADatabaseAnAgentReachingSeveralMySqlBackendsIsToldWhichOnes() {
        CountersignConfig c = parse(BOTH.replace("""
                  - name: shop
                    type: mysql
                """, """
                  - name: shop
                    type: mysql
                    host: 127.0.0.1
                    user: root
                  - name: warehouse
                    type: mysql
                """));
        ConfigAgentAuthenticator mysql = new ConfigAgentAuthenticator(c, Protocol.MYSQL);
        assertThat(mysql.route("bot", null)).isInstanceOfSatisfying(Route.Refused.class, r -> {
            assertThat(r.error().mysqlCode()).isEqualTo(1046);
            assertThat(r.error().message()).contains("No database selected");
            assertThat(r.error().detail()).contains("shop, warehouse").doesNotContain("pgdb");
        });
        // PostgreSQL sessions always name a database; a missing one is refused there as before
        assertThat(new ConfigAgentAuthenticator(parse(BOTH)).route("bot", null)).isInstanceOf(Route.Refused.class);
    }

    @Test
    void aMySqlOnlyConfigNeedsNoPostgresListener() {
        CountersignConfig c = parse("""
                listeners:
                  mysql: {port: 0}
                backends:
                  - name: shop
                    type: mysql
                    host: 127.0.0.1
                    user: root
                agents:
                  - {name: bot, owner: dana@example.com, password: pw, backends: [shop]}
                """);
        assertThat(c.listeners().postgres()).isNull();
        assertThat(c.listeners().mysql().port()).isZero();
    }

    @Test
    void aPostgresqlBackendWithoutAPostgresListenerIsAConfigError() {
        ConfigException e = (ConfigException) org.assertj.core.api.Assertions.catchThrowable(
                () -> parse(BOTH.replace("  postgres: {port: 0}\n", "")));
        assertThat(e).isNotNull();
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.keyPath()).isEqualTo("backends[0].type");
            assertThat(p.problem()).contains("listeners.postgres").contains("type: mysql");
        });
    }

    @Test
    void noListenerAtAllIsAConfigError() {
        ConfigException e = (ConfigException) org.assertj.core.api.Assertions.catchThrowable(
                () -> parse(BOTH.replace("listeners:\n  postgres: {port: 0}\n  mysql: {port: 0}\n", "listeners: {}\n")));
        assertThat(e).isNotNull();
        assertThat(e.problems()).anySatisfy(p -> {
            assertThat(p.keyPath()).isEqualTo("listeners");
            assertThat(p.problem()).contains("no listener").contains("listeners.postgres").contains("listeners.mysql");
        });
    }
}
