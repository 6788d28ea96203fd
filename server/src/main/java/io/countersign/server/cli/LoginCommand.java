package io.countersign.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.countersign.approvals.client.ApprovalsClient;
import io.countersign.approvals.oidc.ProviderMetadata;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code countersign login}: signs a reviewer in for the CLI. Where the identity provider offers the
 * OAuth device authorization flow (RFC 8628) the reviewer approves the sign-in in a browser on any
 * device and the ID token is kept; otherwise the reviewer mints a personal access token in the
 * console and passes it with {@code --token}. Either way the token is checked against Countersign
 * and written to {@code ~/.config/countersign/token} with permissions 0600, where every
 * {@code countersign approvals} command finds it.
 */
@Command(name = "login", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Signs in for 'countersign approvals' (OAuth device flow, or a personal access token with --token).")
public final class LoginCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

    @Option(names = "--url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8787",
            description = "Countersign's admin address (default: ${DEFAULT-VALUE})")
    String url;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "store this token (a personal access token from the console's Tokens tab) instead of the device flow")
    String token;

    @Spec
    CommandSpec spec;

    /** Longest wait between polls; also the cap on a provider's slow_down. */
    private static final Duration MAX_INTERVAL = Duration.ofSeconds(30);

    @Override
    public Integer call() throws Exception {
        URI base = ApprovalsOptions.baseUrl(url);
        PrintWriter out = spec.commandLine().getOut();
        String t = token != null ? token.strip() : deviceFlow(base, out);
        JsonNode me = new ApprovalsClient(base, t).me();
        Path file = TokenFile.path(ApprovalsOptions.environment);
        TokenFile.write(file, t);
        out.println("Signed in to " + base + " as " + me.path("name").asText() + " (" + me.path("auth").asText() + "); token saved to "
                + file + " (mode 0600)");
        out.flush();
        return 0;
    }

    private String deviceFlow(URI base, PrintWriter out) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> cliInfo = http.send(HttpRequest.newBuilder(base.resolve("/auth/cli")).timeout(Duration.ofSeconds(15)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (cliInfo.statusCode() == 404) {
            throw new IllegalArgumentException(base + " has no identity-provider sign-in (approvals.oidc is not configured); ask for a"
                    + " reviewer token and run 'countersign login --token TOKEN'");
        }
        if (cliInfo.statusCode() != 200) {
            throw new IOException(base.resolve("/auth/cli") + " answered HTTP " + cliInfo.statusCode() + "; check --url");
        }
        JsonNode info = JSON.readTree(cliInfo.body());
        String clientId = info.path("clientId").asText();
        ProviderMetadata provider = ProviderMetadata.discover(http, URI.create(info.path("issuer").asText()));
        if (provider.deviceAuthorizationEndpoint().isEmpty()) {
            throw new IllegalArgumentException("the identity provider " + provider.issuer() + " does not offer the device flow;"
                    + " open " + base.resolve("/console/") + ", sign in, mint a personal access token in the Tokens tab, then run"
                    + " 'countersign login --url " + base + " --token TOKEN'");
        }
        JsonNode device = post(http, provider.deviceAuthorizationEndpoint().get(), Map.of("client_id", clientId,
                "scope", info.path("scope").asText("openid email profile")), true);
        String deviceCode = device.path("device_code").asText("");
        if (deviceCode.isEmpty()) {
            throw new IOException("the provider's device authorization endpoint answered without a device_code: " + device);
        }
        String complete = device.path("verification_uri_complete").asText("");
        out.println("To sign in, open " + (complete.isEmpty() ? device.path("verification_uri").asText() : complete)
                + " and enter the code " + device.path("user_code").asText());
        out.flush();
        Duration interval = Duration.ofSeconds(Math.max(1, device.path("interval").asLong(5)));
        long deadline = System.nanoTime() + Duration.ofSeconds(device.path("expires_in").asLong(600)).toNanos();
        while (System.nanoTime() < deadline) {
            Thread.sleep(interval.toMillis());
            JsonNode answer = post(http, provider.tokenEndpoint(), Map.of("grant_type", DEVICE_GRANT, "device_code", deviceCode,
                    "client_id", clientId), false);
            if (answer.path("id_token").isTextual()) {
                return answer.path("id_token").asText();
            }
            String error = answer.path("error").asText("");
            switch (error) {
                case "authorization_pending" -> { }
                case "slow_down" -> interval = min(interval.plusSeconds(5), MAX_INTERVAL);
                case "access_denied" -> throw new IllegalArgumentException("the sign-in was refused at the identity provider");
                case "expired_token" -> throw new IllegalArgumentException("the code expired before the sign-in was approved; run"
                        + " 'countersign login' again");
                default -> throw new IOException("the provider's token endpoint answered " + (error.isEmpty() ? answer.toString()
                        : error + " " + answer.path("error_description").asText("")) + (answer.has("access_token")
                        ? " (it issued no ID token: ask for the 'openid' scope)" : ""));
            }
        }
        throw new IllegalArgumentException("the code expired before the sign-in was approved; run 'countersign login' again");
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) < 0 ? a : b;
    }

    private static JsonNode post(HttpClient http, URI uri, Map<String, String> fields, boolean requireOk)
            throws IOException, InterruptedException {
        StringJoiner form = new StringJoiner("&");
        new LinkedHashMap<>(fields).forEach((k, v) -> form.add(URLEncoder.encode(k, StandardCharsets.UTF_8) + "="
                + URLEncoder.encode(v, StandardCharsets.UTF_8)));
        HttpResponse<String> resp = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(form.toString())).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json;
        try {
            json = JSON.readTree(resp.body());
        } catch (IOException e) {
            throw new IOException(uri + " answered HTTP " + resp.statusCode() + " without JSON");
        }
        if (requireOk && resp.statusCode() != 200) {
            throw new IOException(uri + " answered HTTP " + resp.statusCode() + ": " + json.path("error").asText("")
                    + " " + json.path("error_description").asText(""));
        }
        return json == null ? JSON.createObjectNode() : json;
    }

    /** Where the CLI keeps its token: {@code $XDG_CONFIG_HOME/countersign/token} or {@code ~/.config/countersign/token}. */
    static final class TokenFile {

        private TokenFile() {}

        static Path path(Map<String, String> env) {
            String xdg = env.get("XDG_CONFIG_HOME");
            String home = env.getOrDefault("HOME", System.getProperty("user.home"));
            Path dir = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(home, ".config");
            return dir.resolve("countersign").resolve("token");
        }

        /** Writes the token readable by its owner only; the file never exists with wider permissions, even briefly. */
        static void write(Path file, String token) throws IOException {
            Path dir = file.getParent();
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Path tmp = dir.resolve(".token." + ProcessHandle.current().pid() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, token + "\n");
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        }

        /** The stored token, or null when there is none. Refuses a file others can read: the token may have leaked. */
        static String read(Path file) throws IOException {
            if (!Files.isRegularFile(file)) {
                return null;
            }
            var perms = Files.getPosixFilePermissions(file);
            if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
                throw new IllegalArgumentException("token file " + file + " is readable by others (" + PosixFilePermissions.toString(perms)
                        + "); run 'chmod 600 " + file + "' and consider revoking that token");
            }
            String t = Files.readString(file).strip();
            return t.isEmpty() ? null : t;
        }
    }
}
