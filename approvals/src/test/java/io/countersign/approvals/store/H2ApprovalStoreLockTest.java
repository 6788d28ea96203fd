package io.countersign.approvals.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The H2 store is locked by the operating system while open: a second process (a real one, not a
 * thread: within one JVM H2 shares the database) cannot open it, and closing leaves nothing behind
 * that could still write into the directory.
 */
class H2ApprovalStoreLockTest {

    @TempDir
    Path dir;

    @Test
    void aSecondProcessCannotOpenTheStoreWhileItIsOpenAndCanAfterItIsClosed() throws Exception {
        Path file = dir.resolve("approvals");
        H2ApprovalStore store = H2ApprovalStore.open(file);
        ChildResult whileOpen;
        try {
            whileOpen = openInChildProcess(file);
        } finally {
            store.close();
        }
        assertThat(whileOpen.exit()).as(whileOpen.output()).isEqualTo(2);
        assertThat(whileOpen.output()).containsIgnoringCase("in use");

        ChildResult afterClose = openInChildProcess(file);
        assertThat(afterClose.exit()).as(afterClose.output()).isZero();
    }

    @Test
    void theLockIsNoFileAThreadKeepsRewritingAndClosingLeavesOnlyTheDatabaseFile() throws Exception {
        H2ApprovalStore store = H2ApprovalStore.open(dir.resolve("approvals"));
        try {
            // H2's FILE lock had a watchdog rewrite approvals.lock.db every second, and it could put the file
            // back just after close deleted it (a test's temp directory then failed to delete).
            assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().contains("File Lock Watchdog"));
            assertThat(dir.resolve("approvals.lock.db")).doesNotExist();
        } finally {
            store.close();
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("approvals.mv.db");
        }
    }

    record ChildResult(int exit, String output) {}

    private static ChildResult openInChildProcess(Path file) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Process p = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                OpenStoreMain.class.getName(), file.toString())).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the child process finished").isTrue();
        return new ChildResult(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** Run in the child process: exit 0 when the store opened, 2 with the error's messages when it did not. */
    public static final class OpenStoreMain {
        public static void main(String[] args) {
            try {
                H2ApprovalStore.open(Path.of(args[0])).close();
                System.exit(0);
            } catch (RuntimeException e) {
                for (Throwable t = e; t != null; t = t.getCause()) {
                    System.out.println(t);
                }
                System.exit(2);
            }
        }
    }
}
