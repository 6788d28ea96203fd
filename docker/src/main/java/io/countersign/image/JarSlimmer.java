package io.countersign.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Drops the native libraries of other platforms from a jar (DuckDB's jar carries macOS, Windows and
 * arm64 builds: 190 of its 250 MB). An entry goes only when it is recognisably native and not a
 * linux/amd64 ELF; everything else is copied unchanged, and signed jars are left alone.
 */
final class JarSlimmer {

    static final Pattern NATIVE_NAME = Pattern.compile("(?i).*(\\.so(\\.[0-9.]+)?|\\.so_[a-z0-9_]+|\\.dll|\\.dylib|\\.jnilib)$");
    static final Pattern OTHER_PLATFORM = Pattern.compile("(?i).*(freebsd|dragonfly|openbsd|netbsd|sunos|solaris|darwin|osx|macos|windows|win32|win/|musl|alpine|aix"
            + "|arm64|aarch64|armhf|arm/|ppc64|s390|riscv|loongarch|mips).*");

    private JarSlimmer() {}

    /** The jar itself, or a copy in {@code outDir} (same file name) without other platforms' natives. */
    static Path slim(Path jar, Path outDir) throws IOException {
        List<String> drop = new ArrayList<>();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            boolean signed = zip.stream().anyMatch(e -> e.getName().matches("(?i)META-INF/[^/]+\\.(SF|RSA|DSA|EC)"));
            if (signed) {
                return jar;
            }
            Enumeration<? extends ZipEntry> en = zip.entries();
            while (en.hasMoreElements()) {
                ZipEntry e = en.nextElement();
                if (!e.isDirectory() && foreignNative(zip, e)) {
                    drop.add(e.getName());
                }
            }
            if (drop.isEmpty()) {
                return jar;
            }
            Path out = Files.createDirectories(outDir).resolve(jar.getFileName());
            try (OutputStream file = Files.newOutputStream(out); ZipOutputStream zos = new ZipOutputStream(file)) {
                en = zip.entries();
                while (en.hasMoreElements()) {
                    ZipEntry e = en.nextElement();
                    if (drop.contains(e.getName())) {
                        continue;
                    }
                    ZipEntry copy = new ZipEntry(e.getName());
                    copy.setTime(e.getTime());
                    zos.putNextEntry(copy);
                    try (InputStream in = zip.getInputStream(e)) {
                        in.transferTo(zos);
                    }
                    zos.closeEntry();
                }
            }
            return out;
        }
    }

    private static boolean foreignNative(ZipFile zip, ZipEntry e) throws IOException {
        if (!NATIVE_NAME.matcher(e.getName()).matches()) {
            return false;
        }
        if (OTHER_PLATFORM.matcher(e.getName()).matches()) {
            return true;
        }
        try (InputStream in = zip.getInputStream(e)) {
            return !NativeLibraries.isLinuxAmd64Elf(in.readNBytes(20));
        }
    }
}
