package io.countersign.analysis.layer;

import java.util.Set;

/** Built-in function lists: what reaches outside the database, what exports, what is pure or catalog-only. */
public final class FunctionRules {

    private FunctionRules() {}

    /** Read or write server files or large objects: both EXPORT and DANGEROUS_FUNCTION. */
    public static final Set<String> FILE_FUNCTIONS = set(
            "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir", "pg_ls_waldir",
            "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_file_write", "pg_file_read", "pg_file_rename",
            "pg_file_unlink", "lo_import", "lo_export", "lo_get", "lo_put", "lo_from_bytea", "lo_open", "loread",
            "lowrite", "lo_creat", "lo_create", "load_file");

    /** Move data elsewhere or dump whole relations: EXPORT. */
    public static final Set<String> EXPORT_FUNCTIONS = set(
            "dblink", "dblink_exec", "dblink_send_query", "dblink_connect", "dblink_connect_u", "dblink_open",
            "dblink_fetch", "dblink_get_result", "query_to_xml", "query_to_xml_and_xmlschema", "table_to_xml",
            "table_to_xml_and_xmlschema", "schema_to_xml", "schema_to_xml_and_xmlschema", "database_to_xml",
            "database_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema");

    /** Reach outside the database or control the server. */
    public static final Set<String> DANGEROUS_FUNCTIONS = set(
            "pg_terminate_backend", "pg_reload_conf", "pg_rotate_logfile", "pg_promote", "pg_switch_wal",
            "pg_create_restore_point", "pg_start_backup", "pg_stop_backup", "pg_backup_start", "pg_backup_stop",
            "pg_create_logical_replication_slot", "pg_create_physical_replication_slot", "pg_drop_replication_slot",
            "pg_logical_slot_get_changes", "pg_logical_slot_peek_changes", "pg_logical_emit_message",
            "pg_replication_origin_create", "pg_import_system_collations", "sys_exec", "sys_eval",
            "pg_stat_reset", "pg_stat_reset_shared", "pg_execute_server_program", "pg_signal_backend");

    /** Change the session identity when their first argument is role or session_authorization. */
    public static final Set<String> SET_CONFIG = set("set_config");

    /**
     * Built-ins that read nothing but their arguments or the system catalog. A statement whose relations
     * are all system relations and whose functions are all here is a catalog read (layer 3).
     */
    public static final Set<String> SAFE_BUILTINS = set(
            // catalog helpers
            "pg_get_userbyid", "pg_get_expr", "pg_get_indexdef", "pg_get_constraintdef", "pg_get_viewdef",
            "pg_get_triggerdef", "pg_get_ruledef", "pg_get_functiondef", "pg_get_function_arguments",
            "pg_get_function_result", "pg_get_function_identity_arguments", "pg_get_serial_sequence",
            "pg_get_statisticsobjdef_columns", "pg_get_statisticsobjdef", "pg_get_partkeydef",
            "pg_get_partition_constraintdef", "pg_get_keywords", "pg_get_publication_tables",
            "pg_relation_is_publishable", "pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible",
            "pg_opclass_is_visible", "pg_collation_is_visible", "pg_conversion_is_visible",
            "pg_operator_is_visible", "pg_ts_config_is_visible", "pg_statistics_obj_is_visible",
            "format_type", "obj_description", "col_description", "shobj_description", "pg_encoding_to_char",
            "pg_char_to_encoding", "pg_relation_size", "pg_total_relation_size", "pg_table_size",
            "pg_indexes_size", "pg_size_pretty", "pg_database_size", "pg_tablespace_location",
            "pg_get_serial_sequence_placeholder", "pg_is_in_recovery", "pg_postmaster_start_time",
            "pg_backend_pid", "pg_current_wal_lsn", "pg_conf_load_time", "pg_my_temp_schema",
            "pg_is_other_temp_schema", "pg_jit_available", "pg_trigger_depth", "pg_listening_channels",
            "pg_notification_queue_usage", "has_table_privilege", "has_schema_privilege",
            "has_database_privilege", "has_column_privilege", "has_function_privilege",
            "has_sequence_privilege", "has_any_column_privilege", "has_type_privilege", "pg_has_role",
            "current_setting", "current_schema", "current_schemas", "current_database", "current_catalog",
            "current_user", "session_user", "current_role", "user", "version", "inet_server_addr",
            "inet_server_port", "inet_client_addr", "txid_current", "pg_current_xact_id", "to_regclass",
            "to_regtype", "to_regproc", "to_regprocedure", "to_regnamespace", "to_regrole", "to_regoper",
            "pg_typeof", "pg_column_size", "pg_sequence_last_value", "pg_index_column_has_property",
            "pg_indexam_has_property", "pg_index_has_property", "quote_ident", "quote_literal",
            "quote_nullable", "pg_get_object_address", "pg_identify_object", "pg_describe_object",
            "txid_current_if_assigned", "pg_stat_get_numscans", "pg_stat_get_live_tuples",
            "pg_tablespace_databases", "pg_options_to_table", "pg_partition_tree", "pg_partition_root",
            "pg_partition_ancestors", "unnest", "generate_series", "generate_subscripts", "array_lower",
            "array_upper", "array_length", "array_to_string", "string_to_array", "array_agg", "array_position",
            "array_positions", "array_remove", "array_append", "array_cat", "array_ndims", "array_dims",
            "cardinality", "string_agg", "count", "sum", "min", "max", "avg", "bool_and", "bool_or", "every",
            "coalesce", "nullif", "greatest", "least", "lower", "upper", "initcap", "length", "char_length",
            "octet_length", "substring", "substr", "position", "strpos", "trim", "btrim", "ltrim", "rtrim",
            "lpad", "rpad", "replace", "regexp_replace", "regexp_match", "regexp_matches", "split_part",
            "concat", "concat_ws", "format", "left", "right", "reverse", "repeat", "translate", "starts_with",
            "abs", "ceil", "ceiling", "floor", "round", "trunc", "mod", "power", "sqrt", "exp", "ln", "log",
            "sign", "random", "now", "statement_timestamp", "clock_timestamp", "transaction_timestamp",
            "timeofday", "date_trunc", "date_part", "extract", "age", "to_char", "to_date", "to_timestamp",
            "to_number", "make_date", "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile",
            "lag", "lead", "first_value", "last_value", "nth_value", "jsonb_build_object", "json_build_object",
            "jsonb_agg", "json_agg", "json_object_agg", "jsonb_object_agg", "json_build_array",
            "jsonb_build_array", "pg_sleep", "encode", "decode", "md5", "chr", "ascii", "bit_length",
            "textlen", "texteq", "int4", "int8", "text", "oid", "name", "bool", "numeric", "char", "varchar",
            "pg_encoding_max_length", "pg_get_wal_replay_pause_state", "inet_client_port", "cast", "convert",
            "pg_client_encoding", "pg_get_catalog_foreign_keys", "regclass", "regtype", "regproc",
            "any_placeholder", "row", "isfinite", "pg_get_acl", "aclexplode", "acldefault", "makeaclitem",
            "pg_stat_get_last_analyze_time", "pg_stat_get_backend_pid", "pg_column_is_updatable",
            "pg_relation_is_updatable", "pg_relation_filenode", "pg_relation_filepath", "pg_filenode_relation",
            "array_to_json", "to_json", "to_jsonb", "row_to_json", "json_typeof", "jsonb_typeof",
            "pg_event_trigger_ddl_commands", "pg_safe_snapshot_blocking_pids", "pg_blocking_pids",
            "pg_cancel_backend", "_pg_expandarray", "_pg_char_max_length", "_pg_numeric_precision",
            "_pg_numeric_scale", "_pg_datetime_precision", "_pg_truetypid", "_pg_truetypmod", "_pg_index_position",
            // MySQL
            "database", "schema", "connection_id", "last_insert_id", "found_rows", "row_count", "ifnull",
            "if", "isnull", "group_concat", "date_format", "str_to_date", "curdate", "curtime", "sysdate",
            "utc_timestamp", "unix_timestamp", "from_unixtime", "datediff", "date_add", "date_sub",
            "locate", "instr", "char", "hex", "unhex", "field", "elt", "find_in_set", "json_extract",
            "json_unquote", "json_object", "json_array", "json_arrayagg", "json_objectagg", "charset",
            "collation", "benchmark_placeholder", "current_timestamp", "localtime", "localtimestamp",
            "current_date", "current_time", "time_format", "timestampdiff", "truncate", "uuid", "ucase",
            "lcase", "space", "strcmp", "format_bytes", "sys_placeholder", "cast_placeholder");

    /** Catalog relations whose content is agent data in disguise: column statistics, credentials. */
    public static final Set<String> SENSITIVE_SYSTEM_RELATIONS = set(
            "pg_statistic", "pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic_ext_data",
            "pg_authid", "pg_shadow", "pg_user_mapping", "pg_user_mappings", "user", "column_stats",
            "innodb_table_stats_placeholder");

    /** Unqualified PostgreSQL relation names that live in pg_catalog/information_schema when not shadowed. */
    public static boolean looksLikePgSystemRelation(String name) {
        return name.startsWith("pg_");
    }

    /** Set.of rejects duplicates; these lists are easier to maintain when it does not matter. */
    private static Set<String> set(String... words) {
        return Set.copyOf(java.util.Arrays.asList(words));
    }
}
