package io.countersign.server.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.oidc.OidcSettings;
import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The approvals.oidc section: read with ${ENV} substitution, every mistake named by its key with what is expected. */
class OidcConfigTest {

    static final String BASE = """
            listeners:
              postgres: {port: 7000}
            backends:
              - {name: shop, host: db.internal, user: countersign}
            agents:
              - {name: bot, owner: dana@example.com, password: bot-pw, backends: [shop]}
            approvals:
              oidc:
            %s
            """;

    static CountersignConfig parse(String oidcLines) {
        return ConfigLoader.parse(BASE.formatted(oidcLines.indent(4).stripTrailing()), "test.yaml", Map.of("OIDC_SECRET", "from-env"));
    }

    static String failure(String oidcLines) {
        try {
            parse(oidcLines);
        } catch (ConfigException e) {
            return e.getMessage();
        }
        throw new AssertionError("expected the config to be refused");
    }

    @Test
    void aCompleteSectionIsRead() {
        OidcSettings s = parse("""
                issuer: https://acme.okta.com/oauth2/default
                client-id: 0oa1countersign
                client-secret: ${OIDC_SECRET}
                redirect-url: https://countersign.acme.example/auth/callback
                groups-claim: groups
                email-claim: email
                group-mapping:
                  db-admins: [dba, security]
                  support-leads: support
                cli-client-id: 0oa1countersign-cli
                session-hours: 4
                """).approvals().oidcSettings();
        assertThat(s.issuer()).isEqualTo(URI.create("https://acme.okta.com/oauth2/default"));
        assertThat(s.clientSecret()).isEqualTo("from-env");
        assertThat(s.groupMapping()).containsEntry("db-admins", List.of("dba", "security")).containsEntry("support-leads", List.of("support"));
        assertThat(s.mapGroups(List.of("db-admins", "everyone"))).containsExactly("dba", "security");
        assertThat(s.audiences()).containsExactly("0oa1countersign", "0oa1countersign-cli");
        assertThat(s.sessionTtl()).isEqualTo(Duration.ofHours(4));
        assertThat(s.scopes()).containsExactly("openid", "email", "profile");
    }

    @Test
    void withoutOidcThereAreNoSettings() {
        CountersignConfig c = ConfigLoader.parse(BASE.formatted("").replace("approvals:\n  oidc:\n", ""), "test.yaml", Map.of());
        assertThat(c.approvals().oidcSettings()).isNull();
    }

    @Test
    void mistakesAreNamedByKeyWithWhatIsExpected() {
        String base = "issuer: https://login.example.com/realms/acme\nclient-id: countersign\n";
        assertThat(failure(base)).contains("approvals.oidc.client-secret is missing").contains("${OIDC_CLIENT_SECRET}");
        assertThat(failure(base + "client-secret: x\nclient-scret: y\n")).contains("approvals.oidc.client-scret is not a setting")
                .contains("client-secret");
        assertThat(failure(base.replace("https://login", "http://login") + "client-secret: x\n"))
                .contains("uses plain http").contains("https");
        assertThat(failure(base + "client-secret: x\nredirect-url: https://cs.example/callback\n")).contains("must end in /auth/callback");
        assertThat(failure(base + "client-secret: x\nscopes: [email]\n")).contains("lacks 'openid'");
        assertThat(failure(base + "client-secret: x\ngroup-mapping: [dba]\n")).contains("group-mapping must be a mapping");
        assertThat(failure(base + "client-secret: x\nsession-hours: 0\n")).contains("session-hours");
        assertThat(failure("client-id: countersign\nclient-secret: x\n")).contains("approvals.oidc.issuer is missing");
    }
}
