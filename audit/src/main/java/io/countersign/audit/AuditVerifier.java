package io.countersign.audit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import io.countersign.audit.VerificationReport.Kind;
import io.countersign.audit.VerificationReport.Problem;

/**
 * Checks a trail directory (or an export bundle) end to end, reading only the files: every Parquet file
 * against the manifest (presence, SHA-256, counts, first/last hash), every row's hash against its fields,
 * the chain links across all files and the journal, sequence gaps against retention records, and the
 * chain head (and its Ed25519 signature). Reports exactly what is changed, deleted, reordered or missing.
 */
public final class AuditVerifier {
    static final String EXPORT_MARKER = "_export.json";

    private AuditVerifier() {}

    public static VerificationReport verify(Path dir) throws IOException {
        return verify(dir, null);
    }

    /**
     * @param trustedKey the instance's Ed25519 public key; when given, the chain head must carry a valid
     *                   signature by it. Without it a signature present is checked against the key stored
     *                   next to it (which shows damage, not forgery by someone who replaced both).
     */
    public static VerificationReport verify(Path dir, PublicKey trustedKey) throws IOException {
        return new Run(dir, trustedKey).run();
    }

    private record Seen(String file, long seq, String prevHash, String hash, AuditRecord record) {}

    private static final class Run {
        final Path dir;
        final PublicKey trustedKey;
        final boolean partial;
        final List<Problem> problems = new ArrayList<>();
        final List<String> notes = new ArrayList<>();
        final TreeMap<Long, Seen> bySeq = new TreeMap<>();
        long files;

        Run(Path dir, PublicKey trustedKey) {
            this.dir = dir;
            this.trustedKey = trustedKey;
            this.partial = Files.exists(dir.resolve(EXPORT_MARKER));
        }

        void problem(Kind kind, String file, Long seq, String detail) {
            problems.add(new Problem(kind, file, seq, detail));
        }

        VerificationReport run() throws IOException {
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException("audit directory " + dir + " does not exist or is not a directory");
            }
            Manifest.Read manifest = Manifest.read(dir.resolve("_manifest"));
            for (String p : manifest.problems()) {
                problem(Kind.CHANGED, "_manifest/" + Manifest.FILE, null, p);
            }
            if (manifest.tornTail()) {
                notes.add("the manifest's last line is incomplete (a crash during a commit); the next open removes it");
            }
            Map<String, ManifestEntry> listed = new LinkedHashMap<>();
            for (ManifestEntry e : manifest.entries()) {
                if (listed.put(e.file(), e) != null) {
                    problem(Kind.CHANGED, e.file(), null, "listed twice in the manifest");
                }
            }
            List<String> present = parquetFiles();
            for (String f : present) {
                ManifestEntry e = listed.get(f);
                if (e == null) {
                    problem(Kind.UNLISTED, f, null, "Parquet file is not in the manifest (added, or its manifest line was removed)");
                } else {
                    checkFile(f, e);
                }
            }
            readJournal();
            Map<String, AdminRecord.DeletedFile> retained = retentionDeletions();
            long retentionRecords = 0;
            List<AdminRecord.DeletedFile> accepted = new ArrayList<>();
            for (ManifestEntry e : listed.values()) {
                if (present.contains(e.file())) {
                    if (retained.containsKey(e.file())) {
                        notes.add(e.file() + " is recorded as deleted by retention but is still present");
                    }
                    continue;
                }
                if (Files.exists(dir.resolve(e.file() + ParquetSink.TEMP_SUFFIX))) {
                    notes.add(e.file() + " is being committed right now (listed, rename pending); verify again to check it");
                    continue;
                }
                AdminRecord.DeletedFile d = retained.get(e.file());
                if (d != null && d.sha256().equals(e.sha256()) && d.firstSeq() == e.firstSeq() && d.lastSeq() == e.lastSeq()) {
                    retentionRecords += e.records();
                    accepted.add(d);
                    notes.add("retention deleted " + e.file() + " (seq " + e.firstSeq() + ".." + e.lastSeq() + ", " + e.records() + " records)");
                } else if (partial) {
                    problem(Kind.MISSING, e.file(), null, "listed in the bundle's manifest but absent from the bundle");
                } else {
                    problem(Kind.MISSING, e.file(), e.firstSeq(), "listed in the manifest but absent (held seq " + e.firstSeq() + ".."
                            + e.lastSeq() + ", " + e.records() + " records); no retention record covers it");
                }
            }
            checkChain(accepted, retentionRecords);
            checkHead();
            long first = bySeq.isEmpty() ? 0 : bySeq.firstKey();
            long last = bySeq.isEmpty() ? 0 : bySeq.lastKey();
            return new VerificationReport(dir, partial, files, bySeq.size(), first, last, List.copyOf(problems), List.copyOf(notes));
        }

        List<String> parquetFiles() throws IOException {
            List<String> out = new ArrayList<>();
            for (RecordType t : RecordType.values()) {
                Path root = dir.resolve(t.directory());
                if (!Files.isDirectory(root)) {
                    continue;
                }
                try (Stream<Path> s = Files.walk(root)) {
                    s.filter(p -> p.getFileName().toString().endsWith(".parquet") && Files.isRegularFile(p))
                            .map(p -> dir.relativize(p).toString().replace('\\', '/'))
                            .sorted()
                            .forEach(out::add);
                }
            }
            return out;
        }

        void checkFile(String f, ManifestEntry e) throws IOException {
            files++;
            Path path = dir.resolve(f);
            if (!Hashes.fileSha256(path).equals(e.sha256())) {
                problem(Kind.CHANGED, f, null, "file bytes differ from the manifest's SHA-256 (the file was modified or replaced)");
            }
            List<ParquetLayout.Row> rows;
            try {
                rows = ParquetFiles.read(path, RecordType.ofDirectory(e.type()));
            } catch (IOException | RuntimeException ex) {
                problem(Kind.CHANGED, f, null, "cannot be read as an audit Parquet file (" + ex.getMessage() + "); its records "
                        + e.firstSeq() + ".." + e.lastSeq() + " are unverifiable");
                return;
            }
            if (rows.size() != e.records()) {
                problem(rows.size() < e.records() ? Kind.DELETED : Kind.CHANGED, f, null, "holds " + rows.size()
                        + " records, the manifest committed " + e.records());
            }
            long prevSeq = Long.MIN_VALUE;
            for (int i = 0; i < rows.size(); i++) {
                ParquetLayout.Row r = rows.get(i);
                if (r.seq() < prevSeq) {
                    problem(Kind.REORDERED, f, r.seq(), "seq " + r.seq() + " comes after seq " + prevSeq + " in the file (rows were reordered)");
                } else if (r.seq() == prevSeq) {
                    problem(Kind.CHANGED, f, r.seq(), "seq " + r.seq() + " appears twice in the file");
                }
                prevSeq = Math.max(prevSeq, r.seq());
                if (!r.instanceId().equals(e.instanceId())) {
                    problem(Kind.CHANGED, f, r.seq(), "row names instance '" + r.instanceId() + "', the manifest '" + e.instanceId() + "'");
                }
                String recomputed;
                try {
                    recomputed = Hashes.hex(Hashes.sha256(RecordCodec.encode(r.seq(), Hashes.unhex(r.prevHash()), r.record())));
                } catch (IllegalArgumentException ex) {
                    problem(Kind.CHANGED, f, r.seq(), "prev_hash is not a SHA-256 hex string");
                    continue;
                }
                if (!recomputed.equals(r.hash())) {
                    problem(Kind.CHANGED, f, r.seq(), "hash mismatch: the row's fields hash to " + recomputed.substring(0, 16)
                            + "..., the row (and chain) say " + abbreviate(r.hash()) + " (a field was altered)");
                }
                if (!r.record().type().directory().equals(e.type()) || !ParquetSink.dt(r.record().at()).equals(e.dt())) {
                    problem(Kind.CHANGED, f, r.seq(), "record does not belong to " + e.type() + "/dt=" + e.dt());
                }
                Seen s = new Seen(f, r.seq(), r.prevHash(), recomputed, keepIfRetention(r.record()));
                Seen dup = bySeq.putIfAbsent(r.seq(), s);
                if (dup != null) {
                    problem(Kind.CHANGED, f, r.seq(), "seq " + r.seq() + " also appears in " + dup.file());
                }
            }
            if (!rows.isEmpty()) {
                ParquetLayout.Row firstRow = rows.get(0);
                ParquetLayout.Row lastRow = rows.get(rows.size() - 1);
                if (firstRow.seq() != e.firstSeq() || !firstRow.hash().equals(e.firstHash())) {
                    problem(firstRow.seq() > e.firstSeq() ? Kind.DELETED : Kind.CHANGED, f, e.firstSeq(), "the manifest says the file starts at seq "
                            + e.firstSeq() + " with hash " + abbreviate(e.firstHash()) + ", it starts at seq " + firstRow.seq());
                }
                if (lastRow.seq() != e.lastSeq() || !lastRow.hash().equals(e.lastHash())) {
                    problem(lastRow.seq() < e.lastSeq() ? Kind.DELETED : Kind.CHANGED, f, e.lastSeq(), "the manifest says the file ends at seq "
                            + e.lastSeq() + " with hash " + abbreviate(e.lastHash()) + ", it ends at seq " + lastRow.seq());
                }
            }
        }

        void readJournal() {
            Path jdir = dir.resolve("journal");
            if (!Files.isDirectory(jdir)) {
                return;
            }
            try {
                Journal.Scan scan = Journal.scan(jdir, 1, new byte[Hashes.LENGTH], false);
                notes.addAll(scan.notes());
                int added = 0;
                for (ChainedRecord r : scan.records()) {
                    Seen inParquet = bySeq.get(r.seq());
                    ManifestEntry committed = committedFileFor(r);
                    if (inParquet == null && committed != null) {
                        // Committed to Parquet, gone from there: a deletion, even though the journal still has a copy.
                        notes.add("the journal still holds a copy of seq " + r.seq() + ", which is missing from " + committed.file());
                    } else if (inParquet == null) {
                        bySeq.put(r.seq(), new Seen("journal", r.seq(), r.prevHashHex(), r.hashHex(), keepIfRetention(r.record())));
                        added++;
                    } else if (!inParquet.hash().equals(r.hashHex())) {
                        problem(Kind.CHANGED, inParquet.file(), r.seq(), "differs from the journal's copy of seq " + r.seq());
                    }
                }
                if (added > 0) {
                    notes.add(added + " record(s) are only in the journal so far (not yet in Parquet); they were checked too");
                }
            } catch (IOException | RuntimeException e) {
                problem(Kind.CHANGED, "journal", null, e.getMessage());
            }
        }

        /** Only retention records are needed after a row is checked; keeping no others bounds memory to the hashes. */
        static AuditRecord keepIfRetention(AuditRecord r) {
            return r instanceof AdminRecord a && a.event() == AdminRecord.Event.RETENTION ? r : null;
        }

        ManifestEntry committedFileFor(ChainedRecord r) throws IOException {
            String dt = ParquetSink.dt(r.record().at());
            if (r.seq() > newestCommitted()) {
                return null;
            }
            for (ManifestEntry e : manifestEntries()) {
                if (e.covers(r.record().type(), dt, r.seq())) {
                    return e;
                }
            }
            return null;
        }

        List<ManifestEntry> manifestCache;
        long newestCommitted = -1;

        long newestCommitted() throws IOException {
            if (newestCommitted < 0) {
                newestCommitted = manifestEntries().stream().mapToLong(ManifestEntry::lastSeq).max().orElse(0);
            }
            return newestCommitted;
        }

        List<ManifestEntry> manifestEntries() throws IOException {
            if (manifestCache == null) {
                manifestCache = Manifest.read(dir.resolve("_manifest")).entries();
            }
            return manifestCache;
        }

        Map<String, AdminRecord.DeletedFile> retentionDeletions() {
            Map<String, AdminRecord.DeletedFile> out = new HashMap<>();
            for (Seen s : bySeq.values()) {
                if (s.record() instanceof AdminRecord a && a.event() == AdminRecord.Event.RETENTION) {
                    for (AdminRecord.DeletedFile d : a.deletedFiles()) {
                        out.put(d.path(), d);
                    }
                }
            }
            return out;
        }

        void checkChain(List<AdminRecord.DeletedFile> retained, long retentionRecords) {
            if (bySeq.isEmpty()) {
                return;
            }
            Map<String, Long> seqOfHash = new HashMap<>();
            for (Seen s : bySeq.values()) {
                seqOfHash.put(s.hash(), s.seq());
            }
            String instance = instanceId();
            TreeSet<Long> missing = new TreeSet<>();
            long expected = 1;
            for (Seen s : bySeq.values()) {
                for (long m = expected; m < s.seq(); m++) {
                    missing.add(m);
                }
                expected = s.seq() + 1;
                Seen before = bySeq.get(s.seq() - 1);
                String expectedPrev = s.seq() == 1 && instance != null ? Hashes.hex(Hashes.genesis(instance))
                        : before != null ? before.hash() : null;
                if (expectedPrev != null && !expectedPrev.equals(s.prevHash())) {
                    Long linked = seqOfHash.get(s.prevHash());
                    if (linked != null) {
                        problem(Kind.REORDERED, s.file(), s.seq(), "links to seq " + linked + " instead of seq " + (s.seq() - 1)
                                + " (records were moved or renumbered)");
                    } else {
                        problem(Kind.CHANGED, s.file(), s.seq(), "prev_hash does not match seq " + (s.seq() - 1)
                                + (before != null ? " in " + before.file() : "") + " (a record before it was altered or replaced)");
                    }
                }
            }
            // Gaps: retention may explain them; anything else was deleted.
            long coveredMissing = 0;
            List<long[]> unexplained = new ArrayList<>();
            for (long m : missing) {
                boolean covered = false;
                for (AdminRecord.DeletedFile d : retained) {
                    if (d.firstSeq() <= m && m <= d.lastSeq()) {
                        covered = true;
                        break;
                    }
                }
                if (covered) {
                    coveredMissing++;
                } else if (!unexplained.isEmpty() && unexplained.get(unexplained.size() - 1)[1] == m - 1) {
                    unexplained.get(unexplained.size() - 1)[1] = m;
                } else {
                    unexplained.add(new long[] {m, m});
                }
            }
            if (partial) {
                if (!missing.isEmpty()) {
                    notes.add(missing.size() + " sequence numbers between " + bySeq.firstKey() + " and " + bySeq.lastKey()
                            + " are outside this export (other dates or record types)");
                }
                return;
            }
            for (long[] r : unexplained) {
                problem(Kind.DELETED, locate(r[0]), r[0], (r[0] == r[1] ? "seq " + r[0] : "seq " + r[0] + ".." + r[1] + " ("
                        + (r[1] - r[0] + 1) + " records)") + " missing from the chain");
            }
            if (coveredMissing > retentionRecords) {
                problem(Kind.DELETED, null, null, (coveredMissing - retentionRecords) + " more record(s) are missing inside"
                        + " retention-deleted ranges than the deleted files held");
            }
        }

        /** The file whose range a missing seq falls in, to point the reader somewhere. */
        String locate(long seq) {
            var before = bySeq.lowerEntry(seq);
            var after = bySeq.higherEntry(seq);
            if (before != null && after != null && before.getValue().file().equals(after.getValue().file())) {
                return before.getValue().file();
            }
            return before != null ? "after " + before.getValue().file() : null;
        }

        String instanceId() {
            try {
                ChainHead head = ChainHead.read(dir.resolve("_manifest"));
                if (head != null) {
                    return head.instanceId();
                }
                List<ManifestEntry> es = Manifest.read(dir.resolve("_manifest")).entries();
                return es.isEmpty() ? null : es.get(0).instanceId();
            } catch (IOException e) {
                return null;
            }
        }

        void checkHead() throws IOException {
            ChainHead head;
            try {
                head = ChainHead.read(dir.resolve("_manifest"));
            } catch (IOException e) {
                problem(Kind.CHANGED, "_manifest/" + ChainHead.FILE, null, "unreadable: " + e.getMessage());
                return;
            }
            if (head == null) {
                if (!bySeq.isEmpty() && Files.exists(dir.resolve("_manifest").resolve(Manifest.FILE))) {
                    problem(Kind.MISSING, "_manifest/" + ChainHead.FILE, null,
                            "the chain head file is absent, so removal of the newest records cannot be ruled out");
                }
                return;
            }
            Seen at = bySeq.get(head.seq());
            if (at == null) {
                if (!partial) {
                    long last = bySeq.isEmpty() ? 0 : bySeq.lastKey();
                    problem(Kind.DELETED, "_manifest/" + ChainHead.FILE, head.seq(), "the chain head is seq " + head.seq()
                            + " but " + (last < head.seq() ? "the trail ends at seq " + last + ": the newest records were removed"
                            : "that record is absent"));
                }
            } else if (!at.hash().equals(head.hash())) {
                problem(Kind.CHANGED, at.file(), head.seq(), "the chain head records hash " + abbreviate(head.hash())
                        + " for seq " + head.seq() + ", the record hashes to " + abbreviate(at.hash()));
            }
            if (trustedKey != null) {
                if (!head.signatureValid(trustedKey)) {
                    problem(Kind.SIGNATURE, "_manifest/" + ChainHead.FILE, head.seq(), head.signature() == null
                            ? "the chain head is not signed, but a trusted key was given"
                            : "the chain head signature does not verify with the trusted key");
                } else {
                    notes.add("chain head seq " + head.seq() + " is signed by the trusted Ed25519 key");
                }
            } else if (head.signature() != null) {
                if (!head.signatureValid(null)) {
                    problem(Kind.SIGNATURE, "_manifest/" + ChainHead.FILE, head.seq(), "the chain head signature does not verify");
                } else {
                    notes.add("chain head seq " + head.seq() + " signature verifies with the key stored beside it;"
                            + " pass the instance's public key to check it against a trusted copy");
                }
            }
        }

        static String abbreviate(String hash) {
            return hash == null ? "null" : hash.length() > 16 ? hash.substring(0, 16) + "..." : hash;
        }
    }
}
