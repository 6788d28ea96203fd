package io.countersign.approvals.teams;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's Teams examples are configs Countersign accepts, and the app manifest names the bot. */
class TeamsDocsTest {

    static final Path README = Path.of("..", "README.md");

    @Test
    void theReadmesTeamsExamplesParse() throws Exception {
        String doc = Files.readString(README, StandardCharsets.UTF_8);
        int section = doc.indexOf("\n## Microsoft Teams\n");
        assertThat(section).as("README has a Microsoft Teams section").isNotNegative();
        String text = doc.substring(section, doc.indexOf("\n## ", section + 5));
        List<TeamsSettings> parsed = new ArrayList<>();
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        for (int at = text.indexOf("```yaml\n"); at >= 0; at = text.indexOf("```yaml\n", at + 1)) {
            int start = at + "```yaml\n".length();
            // ${VAR} is substituted by the config loader before the section is read
            String block = text.substring(start, text.indexOf("```\n", start)).replaceAll("\\$\\{TEAMS_[A-Z_]+}", "https://example.invalid/x");
            JsonNode teams = yaml.readTree(block).get("teams");
            parsed.add(TeamsSettings.parse(teams, "README.md"));
        }
        assertThat(parsed).extracting(TeamsSettings::mode).containsExactly(TeamsSettings.Mode.WEBHOOK, TeamsSettings.Mode.BOT);
        assertThat(parsed.get(0).webhooks()).containsKey("security-desk");
        assertThat(parsed.get(1).tenantId()).isNotNull();
        assertThat(parsed.get(1).userMapping()).containsValue("bob");
    }

    @Test
    void theAppManifestDeclaresABotForChannels() throws Exception {
        JsonNode manifest = new ObjectMapper().readTree(Path.of("..", "docker", "teams-app-manifest.json").toFile());
        JsonNode bot = manifest.path("bots").path(0);
        assertThat(bot.path("botId").asText()).isNotBlank();
        assertThat(bot.path("scopes").toString()).contains("team");
        assertThat(manifest.path("validDomains").toString()).isNotBlank();
    }
}
