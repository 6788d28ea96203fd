package io.countersign.audit;

import java.time.Instant;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;

/**
 * One Parquet column of a record type: its schema and how to emit a value. {@code E} is the object the
 * column reads from (a chained record for top-level columns, a list element inside a struct list).
 */
sealed interface Column<E> {

    String name();

    Type type();

    /** Emits the field (startField..endField) when it has a value; optional columns without one are skipped. */
    void write(RecordConsumer rc, int index, E from);

    /**
     * A string as an array-backed Binary: the dictionary encoder hashes and compares every value, and
     * parquet-java does that byte by byte through a ByteBuffer for {@code Binary.fromString}'s values.
     */
    static Binary utf8(String v) {
        return Binary.fromConstantByteArray(v.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    record Str<E>(String name, Function<E, String> get) implements Column<E> {
        public Type type() {
            return Types.optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named(name);
        }

        public void write(RecordConsumer rc, int index, E from) {
            String v = get.apply(from);
            if (v != null) {
                rc.startField(name, index);
                rc.addBinary(utf8(v));
                rc.endField(name, index);
            }
        }
    }

    /** A string that is always present (hashes, instance id). */
    record RequiredStr<E>(String name, Function<E, String> get) implements Column<E> {
        public Type type() {
            return Types.required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named(name);
        }

        public void write(RecordConsumer rc, int index, E from) {
            rc.startField(name, index);
            rc.addBinary(utf8(get.apply(from)));
            rc.endField(name, index);
        }
    }

    /** A required string column holding lower-case hex of bytes (the hashes), encoded straight to ASCII. */
    record HexBytes<E>(String name, Function<E, byte[]> get) implements Column<E> {
        private static final byte[] DIGITS = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

        public Type type() {
            return Types.required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named(name);
        }

        public void write(RecordConsumer rc, int index, E from) {
            byte[] v = get.apply(from);
            byte[] out = new byte[v.length * 2];
            for (int i = 0; i < v.length; i++) {
                out[2 * i] = DIGITS[(v[i] >> 4) & 0xf];
                out[2 * i + 1] = DIGITS[v[i] & 0xf];
            }
            rc.startField(name, index);
            rc.addBinary(Binary.fromConstantByteArray(out));
            rc.endField(name, index);
        }
    }

    /** A required string that is the same in every row (the instance id): encoded once. */
    record ConstantStr<E>(String name, String value, Binary encoded) implements Column<E> {
        ConstantStr(String name, String value) {
            this(name, value, Binary.fromConstantByteArray(value.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }

        public Type type() {
            return Types.required(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named(name);
        }

        public void write(RecordConsumer rc, int index, E from) {
            rc.startField(name, index);
            rc.addBinary(encoded);
            rc.endField(name, index);
        }
    }

    record Int64<E>(String name, boolean required, Function<E, Long> get) implements Column<E> {
        public Type type() {
            return (required ? Types.required(PrimitiveTypeName.INT64) : Types.optional(PrimitiveTypeName.INT64)).named(name);
        }

        public void write(RecordConsumer rc, int index, E from) {
            Long v = get.apply(from);
            if (v != null) {
                rc.startField(name, index);
                rc.addLong(v);
                rc.endField(name, index);
            }
        }
    }

    record Timestamp<E>(String name, Function<E, Instant> get) implements Column<E> {
        public Type type() {
            return Types.optional(PrimitiveTypeName.INT64)
                    .as(LogicalTypeAnnotation.timestampType(true, LogicalTypeAnnotation.TimeUnit.MICROS)).named(name);
        }

        public void write(RecordConsumer rc, int index, E from) {
            Instant v = get.apply(from);
            if (v != null) {
                rc.startField(name, index);
                rc.addLong(RecordCodec.micros(v));
                rc.endField(name, index);
            }
        }
    }

    record Bool<E>(String name, Predicate<E> get) implements Column<E> {
        public Type type() {
            return Types.required(PrimitiveTypeName.BOOLEAN).named(name);
        }

        public void write(RecordConsumer rc, int index, E from) {
            rc.startField(name, index);
            rc.addBoolean(get.test(from));
            rc.endField(name, index);
        }
    }

    /** LIST&lt;STRING&gt; in the standard three-level layout; elements may be null. The list itself is never null. */
    record StrList<E>(String name, Function<E, List<String>> get) implements Column<E> {
        public Type type() {
            return Types.requiredGroup().as(LogicalTypeAnnotation.listType())
                    .addField(Types.repeatedGroup()
                            .addField(Types.optional(PrimitiveTypeName.BINARY).as(LogicalTypeAnnotation.stringType()).named("element"))
                            .named("list"))
                    .named(name);
        }

        public void write(RecordConsumer rc, int index, E from) {
            List<String> values = get.apply(from);
            rc.startField(name, index);
            rc.startGroup();
            if (!values.isEmpty()) {
                rc.startField("list", 0);
                for (String v : values) {
                    rc.startGroup();
                    if (v != null) {
                        rc.startField("element", 0);
                        rc.addBinary(utf8(v));
                        rc.endField("element", 0);
                    }
                    rc.endGroup();
                }
                rc.endField("list", 0);
            }
            rc.endGroup();
            rc.endField(name, index);
        }
    }

    /** LIST&lt;STRUCT&gt; whose struct fields are themselves columns over the element type. */
    record StructList<E, T>(String name, List<Column<T>> fields, Function<E, List<T>> get) implements Column<E> {
        public Type type() {
            var element = Types.requiredGroup();
            for (Column<T> f : fields) {
                element.addField(f.type());
            }
            return Types.requiredGroup().as(LogicalTypeAnnotation.listType())
                    .addField(Types.repeatedGroup().addField(element.named("element")).named("list"))
                    .named(name);
        }

        public void write(RecordConsumer rc, int index, E from) {
            List<T> values = get.apply(from);
            rc.startField(name, index);
            rc.startGroup();
            if (!values.isEmpty()) {
                rc.startField("list", 0);
                for (T v : values) {
                    rc.startGroup();
                    rc.startField("element", 0);
                    rc.startGroup();
                    for (int i = 0; i < fields.size(); i++) {
                        fields.get(i).write(rc, i, v);
                    }
                    rc.endGroup();
                    rc.endField("element", 0);
                    rc.endGroup();
                }
                rc.endField("list", 0);
            }
            rc.endGroup();
            rc.endField(name, index);
        }
    }
}
