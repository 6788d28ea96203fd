package io.countersign.server.teams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.approvals.teams.TeamsSettings;
import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code teams:} section through the real config loader: environment substitution, and one-line errors. */
class TeamsConfigTest {

    static final String BASE = """
            listeners:
              postgres: {port: 7000}
            backends:
              - {name: shop, host: db.internal, user: countersign, tls: disable}
            agents:
              - {name: bot, owner: dana@example.com, password: bot-pw, backends: [shop]}
            """;

    @Test
    void theBotsSecretComesFromTheEnvironment() {
        CountersignConfig c = ConfigLoader.parse(BASE + """
                teams:
                  mode: bot
                  app-id: 4f6e0f0a-app
                  app-password: ${TEAMS_APP_PASSWORD}
                  default-channel: "19:abc@thread.tacv2"
                """, "countersign.yaml", Map.of("TEAMS_APP_PASSWORD", "from-env"));
        TeamsSettings s = TeamsSettings.parse(c.teams(), "teams");
        assertThat(s.appPassword()).isEqualTo("from-env");
        assertThat(s.botMode()).isTrue();
    }

    @Test
    void aBadTeamsSectionStopsTheLoadNamingTheKeyAndTheFix() {
        assertThatThrownBy(() -> ConfigLoader.parse(BASE + "teams:\n  mode: bot\n  app-id: x\n  default-channel: c\n",
                "countersign.yaml", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("countersign.yaml: teams: ")
                .hasMessageContaining("teams.app-password is missing");
        assertThatThrownBy(() -> ConfigLoader.parse(BASE + "teams:\n  mode: webhook\n  webhook-url: https://x.example/\n  app-id: a\n",
                "countersign.yaml", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("teams.app-id is only used in bot mode; remove it or set teams.mode: bot");
    }
}
