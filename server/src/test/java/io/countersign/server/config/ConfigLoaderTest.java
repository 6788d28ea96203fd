package io.countersign.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.BackendTarget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    static final String VALID = """
            listeners:
              postgres:
                host: 0.0.0.0
                port: 7000
                auth: [scram-sha-256, md5]
            admin:
              port: 7001
            backends:
              - name: shop
                host: db.internal
                database: shop_prod
                user: countersign
                password: ${SHOP_PW}
                tls: verify-full
              - name: analytics
                host: 10.0.0.5
                port: 5433
                user: ro
            agents:
              - name: bot
                owner: dana@example.com
                password: bot-pw
                groups: [support]
                backends: [shop]
              - name: reporter
                owner: Ravi
                scram: "SCRAM-SHA-256$4096:c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
                backends: ["*"]
            """;

    static CountersignConfig parse(String yaml, Map<String, String> env) {
        return ConfigLoader.parse(yaml, "test.yaml", env);
    }

    static ConfigException failure(String yaml) {
        return failure(yaml, Map.of("SHOP_PW", "secret"));
    }

    static ConfigException failure(String yaml, Map<String, String> env) {
        try {
            parse(yaml, env);
        } catch (ConfigException e) {
            assertThat(e.getMessage()).startsWith("test.yaml: ");
            return e;
        }
        throw new AssertionError("expected the config to be rejected:\n" + yaml);
    }

    @Test
    void readsEveryKeyAndAppliesDefaults() {
        CountersignConfig c = parse(VALID, Map.of("SHOP_PW", "s3cret"));
        assertThat(c.listeners().postgres().host()).isEqualTo("0.0.0.0");
        assertThat(c.listeners().postgres().port()).isEqualTo(7000);
        assertThat(c.listeners().postgres().tls()).isNull();
        assertThat(c.listeners().postgres().auth()).containsExactly(AuthMethod.SCRAM_SHA_256, AuthMethod.MD5);
        assertThat(c.admin().host()).isEqualTo("127.0.0.1");
        assertThat(c.admin().port()).isEqualTo(7001);
        assertThat(c.backends().get(0).target())
                .isEqualTo(new BackendTarget("shop", "db.internal", 5432, "shop_prod", "countersign", "s3cret", BackendTarget.TlsMode.VERIFY_FULL));
        assertThat(c.backends().get(1).target())
                .isEqualTo(new BackendTarget("analytics", "10.0.0.5", 5433, "analytics", "ro", null, BackendTarget.TlsMode.PREFER));
        assertThat(c.agents().get(0).groups()).containsExactly("support");
        assertThat(c.agents().get(1).mayReach("analytics")).isTrue();
        assertThat(c.agents().get(0).mayReach("analytics")).isFalse();
        AgentCredential.ScramSha256 scram = ScramVerifier.parse(c.agents().get(1).scram());
        assertThat(scram.iterations()).isEqualTo(4096);
        assertThat(scram.salt()).containsExactly('s', 'a', 'l', 't');
        assertThat(scram.serverKey()).hasSize(32).containsOnly(1);
    }

    @Test
    void listenerAndAdminDefaults() {
        CountersignConfig c = parse("""
                listeners: {postgres: {}}
                backends: [{name: b, host: h, user: u}]
                agents: [{name: a, owner: o, password: p, backends: [b]}]
                """, Map.of());
        assertThat(c.listeners().postgres().port()).isEqualTo(6543);
        assertThat(c.listeners().postgres().host()).isEqualTo("127.0.0.1");
        assertThat(c.listeners().postgres().auth()).containsExactly(AuthMethod.SCRAM_SHA_256);
        assertThat(c.admin().port()).isEqualTo(8787);
    }

    @Test
    void environmentVariablesAndDefaultsAreSubstitutedInValues() {
        CountersignConfig c = parse(VALID.replace("host: db.internal", "host: ${DB_HOST:-fallback.internal}")
                        .replace("port: 7000", "port: ${PG_PORT}")
                        .replace("password: bot-pw", "password: \"pre-${BOT_PW}-$${literal}\""),
                Map.of("SHOP_PW", "x", "PG_PORT", "7100", "BOT_PW", "mid"));
        assertThat(c.backends().get(0).host()).isEqualTo("fallback.internal");
        assertThat(c.listeners().postgres().port()).isEqualTo(7100);
        assertThat(c.agents().get(0).password()).isEqualTo("pre-mid-${literal}");
    }

    @Test
    void missingEnvironmentVariableNamesItAndTheKey() {
        ConfigException e = failure(VALID, Map.of());
        assertThat(e.getMessage()).isEqualTo("test.yaml: backends[0].password: environment variable SHOP_PW is not set; "
                + "set it, or write ${SHOP_PW:-default} to give a default");
    }

    @Test
    void malformedEnvironmentReference() {
        assertThat(failure(VALID.replace("${SHOP_PW}", "${SHOP PW}")).getMessage())
                .contains("backends[0].password: '${SHOP PW}' does not name an environment variable");
        assertThat(failure(VALID.replace("${SHOP_PW}", "\"${SHOP_PW\"")).getMessage())
                .contains("backends[0].password: unterminated '${'");
    }

    @Test
    void auditStagingDirIsShmByDefaultNoneOrAnAbsoluteWritableDirectory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        java.nio.file.Path auditDir = tmp.resolve("audit");
        assertThat(parse(VALID, Map.of("SHOP_PW", "x")).audit().toAuditConfig(auditDir, "n1").staging())
                .isEqualTo(io.countersign.audit.AuditConfig.Staging.shmIfAvailable());
        assertThat(parse(VALID + "audit:\n  staging-dir: none\n", Map.of("SHOP_PW", "x")).audit().toAuditConfig(auditDir, "n1").staging())
                .isNull();
        assertThat(parse(VALID + "audit:\n  staging-dir: " + tmp + "\n", Map.of("SHOP_PW", "x")).audit().toAuditConfig(auditDir, "n1")
                .staging().directory()).isEqualTo(tmp);
        assertThat(failure(VALID + "audit:\n  staging-dir: shm\n", Map.of("SHOP_PW", "x")).getMessage())
                .contains("audit.staging-dir: 'shm' is not an absolute path");
        assertThat(failure(VALID + "audit:\n  staging-dir: " + tmp.resolve("missing") + "\n", Map.of("SHOP_PW", "x")).getMessage())
                .contains("is not a writable directory");
    }

    @Test
    void unknownTopLevelKeyListsTheKnownOnes() {
        ConfigException e = failure(VALID + "polcy:\n  x: 1\n");
        assertThat(e.getMessage()).isEqualTo("test.yaml: polcy: unknown key 'polcy'; expected one of: admin, agents, analysis, approvals, audit, backends, data-dir, identity, listeners, policy, slack, teams, tracking");
    }

    @Test
    void unknownNestedKeyGivesTheFullPath() {
        ConfigException e = failure(VALID.replace("    groups: [support]", "    groups: [support]\n    backend: [shop]"));
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.keyPath()).isEqualTo("agents[0].backend");
            assertThat(p.problem()).isEqualTo("unknown key 'backend'; expected one of: auth, backends, groups, name, owner, password, scram");
        });
        assertThat(failure(VALID.replace("    port: 7000", "    port: 7000\n    tsl: {}")).getMessage())
                .contains("listeners.postgres.tsl: unknown key 'tsl'");
    }

    @Test
    void badEnumValueListsTheChoices() {
        assertThat(failure(VALID.replace("tls: verify-full", "tls: verify_full")).getMessage())
                .isEqualTo("test.yaml: backends[0].tls: 'verify_full' is not valid here; expected one of: disable, prefer, require, verify-full");
        assertThat(failure(VALID.replace("auth: [scram-sha-256, md5]", "auth: [scram-sha-256, password]")).getMessage())
                .isEqualTo("test.yaml: listeners.postgres.auth[1]: 'password' is not valid here; expected one of: scram-sha-256, md5, cleartext-over-tls");
    }

    @Test
    void wrongTypes() {
        assertThat(failure(VALID.replace("port: 7000", "port: seven")).getMessage())
                .isEqualTo("test.yaml: listeners.postgres.port: 'seven' is not valid here; expected a whole number");
        assertThat(failure(VALID.replace("port: 7000", "port: 7000.5")).getMessage())
                .startsWith("test.yaml: listeners.postgres.port: ").endsWith("expected a whole number");
        assertThat(failure(VALID.replace("port: 7000", "port: ${P}"), Map.of("SHOP_PW", "x", "P", "70x")).getMessage())
                .isEqualTo("test.yaml: listeners.postgres.port: '70x' is not valid here; expected a whole number");
        assertThat(failure(VALID.replace("backends: [shop]", "backends: {shop: true}")).getMessage())
                .isEqualTo("test.yaml: agents[0].backends: wrong kind of value; expected a list");
        assertThat(failure(VALID.replace("    owner: Ravi", "    owner: [Ravi]")).getMessage())
                .isEqualTo("test.yaml: agents[1].owner: wrong kind of value; expected a single text value");
        assertThat(failure(VALID.replace("admin:\n  port: 7001", "admin: 7001")).getMessage())
                .isEqualTo("test.yaml: admin: wrong kind of value; expected a mapping with keys: host, port");
    }

    @Test
    void portOutOfRange() {
        assertThat(failure(VALID.replace("port: 7001", "port: 70000")).getMessage())
                .isEqualTo("test.yaml: admin.port: 70000 is not a TCP port; expected a number from 0 to 65535 (0 picks a free port)");
        assertThat(failure(VALID.replace("port: 5433", "port: 0")).getMessage())
                .contains("backends[1].port: 0 is not a backend port");
    }

    @Test
    void missingRequiredValuesAreAllReported() {
        ConfigException e = failure("""
                listeners: {postgres: {}}
                backends:
                  - name: b
                agents:
                  - name: a
                    backends: [b]
                """);
        assertThat(e.problems()).extracting(ConfigProblem::toString).containsExactlyInAnyOrder(
                "backends[0].host: missing; expected the backend's host name or address",
                "backends[0].user: missing; expected the role Countersign logs in to the backend as",
                "agents[0].owner: missing; expected the human answerable for this agent (an e-mail address or name)",
                "agents[0]: no credential; expected 'password' or 'scram' (a SCRAM-SHA-256 verifier)");
        assertThat(e.getMessage()).startsWith("test.yaml: 4 problems: ").doesNotContain("\n");
    }

    @Test
    void missingSections() {
        ConfigException e = failure("admin: {port: 1}\n");
        assertThat(e.problems()).extracting(ConfigProblem::keyPath).containsExactlyInAnyOrder("listeners", "backends", "agents");
        assertThat(failure("listeners: {}\nbackends: [{name: b, host: h, user: u}]\nagents: [{name: a, owner: o, password: p, backends: [b]}]\n").getMessage())
                .startsWith("test.yaml: 2 problems: ")
                .contains("listeners: no listener: agents could not connect; add listeners.postgres")
                .contains("backends[0].type: backend \"b\" is a postgresql backend (the default type) but there is no PostgreSQL listener");
    }

    @Test
    void agentMayOnlyNameConfiguredBackends() {
        ConfigException e = failure(VALID.replace("backends: [shop]", "backends: [shop, warehouse]"));
        assertThat(e.getMessage()).isEqualTo("test.yaml: agents[0].backends[1]: no backend named 'warehouse'; expected one of [shop, analytics] or \"*\"");
        assertThat(failure(VALID.replace("backends: [shop]", "backends: []")).getMessage())
                .contains("agents[0].backends: missing; expected a list of backend names");
    }

    @Test
    void duplicateNames() {
        assertThat(failure(VALID.replace("name: analytics", "name: shop")).getMessage())
                .isEqualTo("test.yaml: backends[1].name: 'shop' is already used by backends[0]; expected a unique name");
        assertThat(failure(VALID.replace("name: reporter", "name: bot")).getMessage())
                .contains("agents[1].name: 'bot' is already used by agents[0]");
    }

    @Test
    void credentialMustBeExactlyOne() {
        assertThat(failure(VALID.replace("    password: bot-pw", "    password: bot-pw\n    scram: x")).getMessage())
                .isEqualTo("test.yaml: agents[0]: both 'password' and 'scram' given; expected exactly one");
        assertThat(failure(VALID.replace("    password: bot-pw", "    password: \"\"")).getMessage())
                .isEqualTo("test.yaml: agents[0].password: empty; expected a non-empty password");
    }

    @Test
    void badScramVerifiers() {
        assertThat(failure(VALID.replace("SCRAM-SHA-256$4096:", "SCRAM-SHA-1$4096:")).getMessage())
                .startsWith("test.yaml: agents[1].scram: not a SCRAM-SHA-256 verifier; expected SCRAM-SHA-256$<iterations>:<salt>$<storedkey>:<serverkey>");
        assertThat(failure(VALID.replace("c2FsdA==", "not*base64")).getMessage())
                .startsWith("test.yaml: agents[1].scram: the salt is not valid base64");
        assertThat(failure(VALID.replace("$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:", "$AAAA:")).getMessage())
                .startsWith("test.yaml: agents[1].scram: stored and server keys must be 32 bytes each");
        assertThat(failure(VALID.replace("$4096:", "$0:")).getMessage())
                .startsWith("test.yaml: agents[1].scram: iteration count must be positive");
    }

    @Test
    void tlsNeedsExactlyOneSourceOfCertificate(@TempDir Path dir) throws IOException {
        String base = VALID.replace("    auth: [scram-sha-256, md5]", "    auth: [scram-sha-256, md5]\n    tls: TLS");
        assertThat(failure(base.replace("TLS", "{}")).getMessage())
                .isEqualTo("test.yaml: listeners.postgres.tls: no certificate; expected 'cert' and 'key' (PEM files) or 'self-signed: true'");
        assertThat(failure(base.replace("TLS", "{self-signed: true, cert: a.pem}")).getMessage())
                .isEqualTo("test.yaml: listeners.postgres.tls: both 'self-signed: true' and cert/key given; expected one of them");
        assertThat(failure(base.replace("TLS", "{cert: " + dir.resolve("none.pem") + ", key: " + dir.resolve("none.key") + "}")).problems())
                .extracting(ConfigProblem::keyPath).containsExactly("listeners.postgres.tls.cert", "listeners.postgres.tls.key");
        assertThat(failure(base.replace("TLS", "{cert: x.pem}")).getMessage())
                .contains("listeners.postgres.tls.key: missing; expected the path of a PEM private key file");
        Path cert = Files.writeString(dir.resolve("c.pem"), "x");
        Path key = Files.writeString(dir.resolve("k.pem"), "x");
        CountersignConfig ok = parse(base.replace("TLS", "{cert: " + cert + ", key: " + key + ", required: true}"), Map.of("SHOP_PW", "p"));
        assertThat(ok.listeners().postgres().tls().required()).isTrue();
        assertThat(parse(base.replace("TLS", "{self-signed: true}"), Map.of("SHOP_PW", "p")).listeners().postgres().tls().selfSigned()).isTrue();
    }

    @Test
    void aVerifierOnlyAgentNeedsScramOnOffer() {
        assertThat(failure(VALID.replace("auth: [scram-sha-256, md5]", "auth: [md5]")).getMessage())
                .isEqualTo("test.yaml: agents[1].scram: a SCRAM verifier works only with scram-sha-256, which listeners.postgres.auth does not offer; "
                        + "add scram-sha-256 there or give this agent a password");
    }

    @Test
    void cleartextNeedsTls() {
        assertThat(failure(VALID.replace("auth: [scram-sha-256, md5]", "auth: [scram-sha-256, cleartext-over-tls]")).getMessage())
                .isEqualTo("test.yaml: listeners.postgres.auth: cleartext-over-tls needs TLS; add a 'tls' section to this listener or remove cleartext-over-tls");
    }

    @Test
    void emptyListEntry() {
        assertThat(failure(VALID.replace("agents:\n", "agents:\n  -\n")).getMessage())
                .isEqualTo("test.yaml: agents[0]: empty entry; expected an agent mapping");
    }

    @Test
    void yamlSyntaxErrorsGiveTheLine() {
        ConfigException e = failure("listeners:\n  postgres: {port: 1\nbackends: []\n");
        assertThat(e.getMessage()).startsWith("test.yaml: not valid YAML at line ");
        assertThat(failure("listeners: {}\nlisteners: {}\n").getMessage()).contains("Duplicate field 'listeners'");
    }

    @Test
    void emptyOrNonMappingFile() {
        assertThat(failure("").getMessage()).isEqualTo("test.yaml: the file is empty; expected a mapping with listeners, backends and agents");
        assertThat(failure("# only a comment\n").getMessage()).contains("the file is empty");
        assertThat(failure("- a\n- b\n").getMessage()).isEqualTo("test.yaml: expected a mapping with listeners, backends and agents at the top, got a list");
    }

    @Test
    void missingFile(@TempDir Path dir) {
        Path f = dir.resolve("nope.yaml");
        assertThatThrownBy(() -> ConfigLoader.load(f, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage(f + ": file not found; expected a YAML config file (see docker/countersign.example.yaml)");
    }

    @Test
    void theShippedExampleIsValid(@TempDir Path dir) throws IOException {
        Path example = Path.of("..", "docker", "countersign.example.yaml");
        Path cert = Files.writeString(dir.resolve("server.crt"), "x");
        Path key = Files.writeString(dir.resolve("server.key"), "x");
        String text = Files.readString(example)
                .replace("/etc/countersign/tls/server.crt", cert.toString())
                .replace("/etc/countersign/tls/server.key", key.toString());
        CountersignConfig c = ConfigLoader.parse(text, example.toString(), Map.of("SHOP_DB_PASSWORD", "a", "SUPPORT_BOT_PASSWORD", "b"));
        assertThat(c.agents()).extracting(AgentConfig::name).containsExactly("support-bot");
        assertThat(c.backends().get(0).target().database()).isEqualTo("shop_production");
        assertThat(c.listeners().postgres().tls().cert()).isEqualTo(cert.toString());
        // every key the example shows, including the commented-out alternatives, is a real key
        assertThat(List.of("self-signed", "scram")).allSatisfy(k -> assertThat(text).contains("# " + k + ":"));
    }
}
