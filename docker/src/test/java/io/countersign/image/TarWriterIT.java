package io.countersign.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The layer writer's tar, read back by the system's GNU tar: names of every length, modes, owners,
 * links. An IT so that it runs with the image profile, on Linux, where tar lists entries in GNU's format.
 */
class TarWriterIT {

    @TempDir
    Path tmp;

    @Test
    void systemTarReadsBackEveryKindOfEntry() throws Exception {
        String longSplittable = "opt/java/legal/" + "a".repeat(60) + "/" + "b".repeat(90) + ".txt";
        String longUnsplittable = "c".repeat(120) + ".txt";
        String unicode = "etc/countersign/café.yaml";
        Path archive = tmp.resolve("t.tar");
        try (OutputStream out = Files.newOutputStream(archive); TarWriter tar = new TarWriter(out, 1_700_000_000L)) {
            tar.directory("var/lib/countersign", 0750, 10001, 10001);
            tar.file("etc/passwd", 0644, "root:x:0:0::/root:/bin/false\n".getBytes(StandardCharsets.UTF_8));
            tar.file(longSplittable, 0644, new byte[513]);
            tar.file(longUnsplittable, 0755, new byte[0]);
            tar.file(unicode, 0600, "x".getBytes(StandardCharsets.UTF_8));
            tar.symlink("opt/java/legal/LICENSE", "../java.base/LICENSE");
        }
        List<String> listing = List.of(ImageTarball.tar("--numeric-owner", "-tvf", archive.toString()).split("\n"));
        assertThat(listing).hasSize(6);
        assertThat(listing.get(0)).matches("drwxr-x--- 10001/10001 +0 2023-11-1\\d \\d\\d:\\d\\d var/lib/countersign/");
        assertThat(listing.get(1)).matches("-rw-r--r-- 0/0 +29 .* etc/passwd");
        assertThat(listing.get(2)).matches("-rw-r--r-- 0/0 +513 .* " + longSplittable);
        assertThat(listing.get(3)).matches("-rwxr-xr-x 0/0 +0 .* " + longUnsplittable);
        assertThat(listing.get(4)).matches("-rw------- 0/0 +1 .* " + unicode);
        assertThat(listing.get(5)).matches("lrwxrwxrwx 0/0 +0 .* opt/java/legal/LICENSE -> \\.\\./java\\.base/LICENSE");

        Path out = Files.createDirectories(tmp.resolve("x"));
        ImageTarball.tar("-xf", archive.toString(), "-C", out.toString());
        assertThat(Files.readString(out.resolve("etc/passwd"))).isEqualTo("root:x:0:0::/root:/bin/false\n");
        assertThat(Files.size(out.resolve(longSplittable))).isEqualTo(513);
    }

    @Test
    void paxRecordLengthCountsItself() {
        // "LEN key=value\\n" where LEN includes its own digits: crossing from 9 to 10 bytes is the tricky case
        for (int n = 0; n < 200; n++) {
            String value = "v".repeat(n);
            String record = TarWriter.paxRecord("path", value);
            int len = Integer.parseInt(record.substring(0, record.indexOf(' ')));
            assertThat(record.getBytes(StandardCharsets.UTF_8)).hasSize(len);
        }
    }
}
