package io.countersign.wire.pg;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class OutsideTransactionTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "VACUUM | VACUUM",
            "vacuum (verbose, analyze) ledger | VACUUM",
            "  -- nightly\\n/* a /* nested */ comment */ VACUUM FULL t | VACUUM",
            "CREATE DATABASE reports | CREATE DATABASE",
            "create database \"Reports\" owner x | CREATE DATABASE",
            "DROP DATABASE IF EXISTS reports | DROP DATABASE",
            "CREATE TABLESPACE fast LOCATION '/ssd' | CREATE TABLESPACE",
            "DROP TABLESPACE fast | DROP TABLESPACE",
            "CREATE INDEX CONCURRENTLY i ON t(a) | CREATE INDEX CONCURRENTLY",
            "create unique index concurrently if not exists i on t (a) | CREATE INDEX CONCURRENTLY",
            "DROP INDEX CONCURRENTLY i | DROP INDEX CONCURRENTLY",
            "REINDEX TABLE CONCURRENTLY t | REINDEX CONCURRENTLY",
            "REINDEX (VERBOSE) DATABASE shop | REINDEX DATABASE",
            "REINDEX SYSTEM | REINDEX SYSTEM",
            "ALTER SYSTEM SET work_mem = '64MB' | ALTER SYSTEM",
            "ALTER DATABASE shop SET TABLESPACE fast | ALTER DATABASE SET TABLESPACE",
            "ALTER TABLE m DETACH PARTITION m1 CONCURRENTLY | ALTER TABLE DETACH PARTITION CONCURRENTLY",
            "CLUSTER | CLUSTER",
            "cluster verbose; | CLUSTER",
            "CREATE SUBSCRIPTION s CONNECTION 'dbname=x' PUBLICATION p | CREATE SUBSCRIPTION",
    })
    void namesTheCommandsThatCannotRunInATransactionBlock(String sql, String command) {
        assertThat(OutsideTransaction.command(sql.replace("\\n", "\n"))).contains(command);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "", "   ", "-- VACUUM", "/* VACUUM */ SELECT 1", "SELECT 'VACUUM'", "ANALYZE t",
            "CREATE INDEX i ON t (a)", "CREATE TABLE concurrently (a int)", "REINDEX TABLE t", "REINDEX INDEX i",
            "ALTER DATABASE shop SET work_mem = '1MB'", "ALTER TABLE m DETACH PARTITION m1", "CLUSTER t USING i",
            "DROP INDEX i", "DROP TABLE database", "DELETE FROM ledger", "SELECT 1; VACUUM",
            "\"VACUUM\"", "CREATE (DATABASE) x",
    })
    void leavesEverythingElseToRunInATransaction(String sql) {
        assertThat(OutsideTransaction.command(sql)).isEmpty();
    }
}
