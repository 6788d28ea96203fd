package io.countersign.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Chromium profile directories for browser tests, kept outside every JUnit {@code @TempDir}: Chromium's
 * helper processes may still write to a profile for a moment after {@code quit()}, and a file that
 * appears while JUnit deletes a temp directory fails the whole test class.
 */
public final class ChromiumProfiles {
    private ChromiumProfiles() {}

    public static Path create() throws IOException {
        return Files.createTempDirectory("countersign-chromium-profile");
    }

    /** Best effort: whatever a late helper still writes is left for the OS's temp cleanup. */
    public static void deleteQuietly(Path profile) {
        if (profile == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(profile)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | java.io.UncheckedIOException e) {
            // a helper process raced us; nothing the test depends on
        }
    }
}
