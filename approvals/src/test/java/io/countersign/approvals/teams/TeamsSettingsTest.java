package io.countersign.approvals.teams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TeamsSettingsTest {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static TeamsSettings parse(String yaml) throws Exception {
        JsonNode node = YAML.readTree(yaml);
        return TeamsSettings.parse(node, "countersign.yaml");
    }

    static String failure(String yaml) {
        try {
            parse(yaml);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("accepted: " + yaml);
    }

    @Test
    void botModeTakesMicrosoftsEndpointsByDefault() throws Exception {
        TeamsSettings s = parse("""
                mode: bot
                app-id: 4f6e0f0a-app
                app-password: s3cret
                default-channel: "19:abc@thread.tacv2"
                user-mapping: {aad-1: alice}
                call-timeout: 2s
                """);
        assertThat(s.botMode()).isTrue();
        assertThat(s.tokenUrl()).isEqualTo(TeamsSettings.BOT_FRAMEWORK_TOKEN_URL);
        assertThat(s.openIdMetadataUrl()).isEqualTo(TeamsSettings.BOT_FRAMEWORK_OPENID);
        assertThat(s.serviceUrl()).isEqualTo("https://smba.trafficmanager.net/teams/");
        assertThat(s.userMapping()).containsEntry("aad-1", "alice");
        assertThat(s.callTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.maxAttempts()).isEqualTo(5);
        assertThat(s.toString()).doesNotContain("s3cret");
    }

    @Test
    void aSingleTenantBotGetsItsTokenFromItsTenant() throws Exception {
        TeamsSettings s = parse("""
                mode: bot
                app-id: a
                app-password: p
                tenant-id: 72f988bf-tenant
                default-channel: "19:abc@thread.tacv2"
                service-url: https://smba.trafficmanager.net/emea
                """);
        assertThat(s.tokenUrl()).isEqualTo("https://login.microsoftonline.com/72f988bf-tenant/oauth2/v2.0/token");
        assertThat(s.serviceUrl()).isEqualTo("https://smba.trafficmanager.net/emea/");
    }

    @Test
    void webhookModeMapsChannelsToWebhooks() throws Exception {
        TeamsSettings s = parse("""
                mode: webhook
                webhook-url: https://prod.westus.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=x
                webhooks: {db-approvals: "https://prod.westus.logic.azure.com/workflows/2"}
                """);
        assertThat(s.botMode()).isFalse();
        assertThat(s.webhooks()).containsKey("db-approvals");
        assertThat(s.toString()).as("webhook URLs carry their signature").doesNotContain("sig=x");
    }

    @Test
    void mistakesAreNamedWithTheirFix() {
        assertThat(failure("webhook-url: https://x.example/")).contains("teams.mode is missing").contains("webhook").contains("bot");
        assertThat(failure("mode: chat")).contains("teams.mode 'chat' is not a mode");
        assertThat(failure("mode: webhook")).contains("teams.webhook-url is missing");
        assertThat(failure("mode: webhook\nwebhook-url: ftp://x")).contains("teams.webhook-url 'ftp://x' is not an http(s) URL");
        assertThat(failure("mode: webhook\nwebhook-url: https://x.example/\napp-id: a"))
                .contains("teams.app-id is only used in bot mode");
        assertThat(failure("mode: bot\napp-password: p\ndefault-channel: c")).contains("teams.app-id is missing")
                .contains("Microsoft App ID");
        assertThat(failure("mode: bot\napp-id: a\ndefault-channel: c")).contains("teams.app-password is missing");
        assertThat(failure("mode: bot\napp-id: a\napp-password: p")).contains("teams.default-channel is missing");
        assertThat(failure("mode: bot\napp-id: a\napp-password: p\ndefault-channel: c\nwebhook-url: https://x.example/"))
                .contains("only used in webhook mode");
        assertThat(failure("mode: bot\napp-id: a\napp-password: p\ndefault-channel: c\nopenid-metadata-url: login.example"))
                .contains("teams.openid-metadata-url 'login.example' is not an http(s) URL");
        assertThat(failure("mode: webhook\nwebhook-url: https://x.example/\ncall-timeout: soon"))
                .contains("teams.call-timeout 'soon' is not a duration");
        assertThat(failure("mode: webhook\nwebhook-url: https://x.example/\nmax-attempts: 0")).contains("teams.max-attempts");
        assertThat(failure("mode: webhook\nwebhook-url: https://x.example/\nwebhok: x")).startsWith("countersign.yaml: teams.webhok is not a setting");
        assertThat(failure("mode: bot\napp-id: a\napp-password: p\ndefault-channel: c\nuser-mapping: [alice]"))
                .contains("teams.user-mapping must map AAD object ids to reviewer names");
    }
}
