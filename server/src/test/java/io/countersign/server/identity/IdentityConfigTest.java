package io.countersign.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.server.auth.ConfigAgentAuthenticator;
import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.Protocol;
import java.net.InetSocketAddress;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The config of token agents and elevated roles: what loads, what is refused and how the refusal reads. */
class IdentityConfigTest {

    static final String BASE = """
            listeners:
              postgres: {port: 0}
            backends:
              - name: shop
                host: 127.0.0.1
                user: cs_agent
                elevated-roles:
                  ledger_admin: {}
              - name: shopmy
                type: mysql
                host: 127.0.0.1
                user: cs_agent
                elevated-roles:
                  ledger_admin: {user: cs_admin, password: "${ADMIN_PW}"}
            agents:
              - {name: etl-bot, owner: dana@example.com, auth: jwt, backends: [shop]}
              - {name: pw-bot, owner: dana@example.com, password: pw, backends: [shop]}
            """;

    static final String TOKENS = """
            identity:
              agent-tokens:
                issuer: https://login.example.com/
                audience: countersign
            """;

    static CountersignConfig parse(String yaml) {
        return ConfigLoader.parse(yaml.replace("listeners:\n  postgres: {port: 0}\n", "listeners:\n  postgres: {port: 0}\n  mysql: {port: 0}\n"),
                "test.yaml", Map.of("ADMIN_PW", "admin-pw"));
    }

    @Test
    void tokenAgentsAndElevatedRolesLoad() {
        CountersignConfig c = parse(BASE + TOKENS);
        assertThat(c.identity().agentTokens().nameClaim()).isEqualTo("sub");
        assertThat(c.identity().agentTokens().clockSkewSeconds()).isEqualTo(60);
        assertThat(c.identity().agentTokens().allowPlaintextOnLoopback()).isFalse();
        assertThat(c.agent("etl-bot").usesJwt()).isTrue();
        assertThat(c.backend("shop").target().elevated()).containsKey("ledger_admin");
        assertThat(c.backends().get(1).target().elevated().get("ledger_admin").user()).isEqualTo("cs_admin");
        assertThat(c.backends().get(1).target().elevated().get("ledger_admin").password()).isEqualTo("admin-pw");

        try (var tokens = ConfigAgentAuthenticator.tokenVerifier(c)) {
            var auth = new ConfigAgentAuthenticator(c, Protocol.POSTGRESQL, tokens);
            assertThat(auth.credentialFor("etl-bot")).get().isInstanceOfSatisfying(AgentCredential.BearerToken.class, b -> {
                // without allow-plaintext-on-loopback a token travels only over TLS, even from loopback
                assertThat(b.acceptsTransport(false, new InetSocketAddress("127.0.0.1", 5000))).isFalse();
                assertThat(b.acceptsTransport(true, new InetSocketAddress("10.0.0.7", 5000))).isTrue();
            });
            assertThat(auth.credentialFor("pw-bot")).get().isInstanceOf(AgentCredential.Password.class);
        }
    }

    @Test
    void aJwtAgentNeedsTheTokenSettingsAndNoPassword() {
        assertThatThrownBy(() -> parse(BASE)).isInstanceOfSatisfying(ConfigException.class, e ->
                assertThat(e.getMessage()).contains("agents[0].auth").contains("identity.agent-tokens"));
        assertThatThrownBy(() -> parse(BASE.replace("auth: jwt,", "auth: jwt, password: x,") + TOKENS))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.getMessage()).contains("takes no 'password'"));
        assertThatThrownBy(() -> parse(BASE.replace("auth: jwt", "auth: kerberos") + TOKENS))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.getMessage()).contains("expected password or jwt"));
        assertThatThrownBy(() -> parse(BASE + TOKENS.replace("    audience: countersign\n", "")))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.getMessage()).contains("identity.agent-tokens.audience"));
    }

    @Test
    void aMySqlElevatedRoleNeedsAnAccount() {
        assertThatThrownBy(() -> parse(BASE.replace("ledger_admin: {user: cs_admin, password: \"${ADMIN_PW}\"}", "ledger_admin: {}") + TOKENS))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.getMessage())
                        .contains("elevated-roles.ledger_admin").contains("needs the account"));
    }
}
