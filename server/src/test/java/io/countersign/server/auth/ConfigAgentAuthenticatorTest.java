package io.countersign.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import io.countersign.wire.spi.AgentAuthenticator.Route;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.BackendTarget;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigAgentAuthenticatorTest {

    static final CountersignConfig CONFIG = ConfigLoader.parse("""
            listeners: {postgres: {port: 0}}
            backends:
              - {name: shop, host: 127.0.0.1, port: 5432, database: shop_prod, user: cs, password: backend-secret, tls: disable}
              - {name: hr, host: 127.0.0.1, user: cs}
            agents:
              - {name: bot, owner: dana@example.com, password: bot-pw, backends: [shop]}
              - name: admin-bot
                owner: ops
                scram: "SCRAM-SHA-256$4096:c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
                backends: ["*"]
            """, "auth.yaml", Map.of());

    final ConfigAgentAuthenticator auth = new ConfigAgentAuthenticator(CONFIG);

    @Test
    void credentialsComeFromTheConfig() {
        assertThat(auth.credentialFor("bot")).contains(new AgentCredential.Password("bot-pw"));
        assertThat(auth.credentialFor("admin-bot")).get().isInstanceOfSatisfying(AgentCredential.ScramSha256.class,
                s -> assertThat(s.iterations()).isEqualTo(4096));
        assertThat(auth.credentialFor("nobody")).isEmpty();
        assertThat(auth.agent("bot")).get().extracting(a -> a.owner()).isEqualTo("dana@example.com");
    }

    @Test
    void routesAnAllowedDatabaseToItsBackendWithTheProxysOwnCredentials() {
        assertThat(auth.route("bot", "shop")).isEqualTo(new Route.Backend(
                new BackendTarget("shop", "127.0.0.1", 5432, "shop_prod", "cs", "backend-secret", BackendTarget.TlsMode.DISABLE)));
        assertThat(auth.route("admin-bot", "hr")).isInstanceOfSatisfying(Route.Backend.class,
                b -> assertThat(b.target().database()).isEqualTo("hr"));
    }

    @Test
    void unknownDatabaseIs3D000LikePostgres() {
        Route r = auth.route("bot", "warehouse");
        assertThat(r).isInstanceOfSatisfying(Route.Refused.class, refused -> {
            assertThat(refused.error().sqlState()).isEqualTo("3D000");
            assertThat(refused.error().message()).isEqualTo("database \"warehouse\" does not exist");
            assertThat(refused.error().detail()).contains("may connect to shop");
        });
    }

    @Test
    void databaseTheAgentMayNotReachIs28000AndSaysHowToAllowIt() {
        Route r = auth.route("bot", "hr");
        assertThat(r).isInstanceOfSatisfying(Route.Refused.class, refused -> {
            assertThat(refused.error().sqlState()).isEqualTo("28000");
            assertThat(refused.error().message()).isEqualTo("agent \"bot\" may not connect to database \"hr\"");
            assertThat(refused.error().detail()).contains("add \"hr\" to the agent's backends");
            // the backend's credentials never appear in what the agent is told
            assertThat(refused.error().toString()).doesNotContain("backend-secret");
        });
    }

    @Test
    void unknownAgentIsRefused() {
        assertThat(auth.route("ghost", "shop")).isInstanceOfSatisfying(Route.Refused.class,
                refused -> assertThat(refused.error().sqlState()).isEqualTo("28000"));
    }
}
