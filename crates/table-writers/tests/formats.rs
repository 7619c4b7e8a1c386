//! Each writer's output for one small batch with every kind of value
//! (integers, a 64-bit integer beyond 2^53, doubles, NULLs, a string that
//! needs escaping, a POINT), as insta snapshots.
#![allow(clippy::unwrap_used)]

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Float64Builder, Int32Array, Int64Array, ListBuilder,
    StringArray,
};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::HashMap;
use std::sync::Arc;
use table_writers::{Format, QueryStatus};

fn field(name: &str, array: &ArrayRef, md: &[(&str, &str)]) -> Field {
    let md: HashMap<String, String> = md
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Field::new(name, array.data_type().clone(), true).with_metadata(md)
}

/// A column: name, values, field metadata.
type Column<'a> = (&'a str, ArrayRef, Vec<(&'a str, &'a str)>);

fn batch() -> (SchemaRef, RecordBatch) {
    let mut points = ListBuilder::new(Float64Builder::new());
    points.values().append_slice(&[10.5, -3.25]);
    points.append(true);
    points.append_null();
    let mut polygons = ListBuilder::new(Float64Builder::new());
    polygons
        .values()
        .append_slice(&[10.0, 0.0, 11.0, 0.0, 10.0, 1.0]);
    polygons.append(true);
    polygons.append_null();
    let columns: Vec<Column> = vec![
        (
            "id",
            Arc::new(Int32Array::from(vec![Some(1), None])),
            vec![("ucd", "meta.id;meta.main")],
        ),
        (
            "big",
            Arc::new(Int64Array::from(vec![9_007_199_254_740_993, -1])),
            vec![],
        ),
        (
            "ra",
            Arc::new(Float64Array::from(vec![Some(10.5), None])),
            vec![
                ("unit", "deg"),
                ("ucd", "pos.eq.ra;meta.main"),
                ("description", "Right ascension & more"),
            ],
        ),
        (
            "flag",
            Arc::new(BooleanArray::from(vec![Some(true), None])),
            vec![],
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![Some("a \"b\", <c>\t"), None])),
            vec![],
        ),
        ("pos", Arc::new(points.finish()), vec![("xtype", "point")]),
        (
            "poly",
            Arc::new(polygons.finish()),
            vec![("xtype", "polygon")],
        ),
    ];
    let fields: Vec<Field> = columns.iter().map(|(n, a, md)| field(n, a, md)).collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays = columns.into_iter().map(|(_, a, _)| a).collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays).unwrap();
    (schema, batch)
}

fn write(format: Format, status: QueryStatus) -> Vec<u8> {
    let (schema, batch) = batch();
    let mut w = format.writer(schema, "SELECT * FROM t").unwrap();
    let mut out = w.header().unwrap();
    out.extend(w.batch(&batch).unwrap());
    out.extend(w.footer(status).unwrap());
    if let Some(tail) = w.spooled().unwrap() {
        for chunk in tail {
            out.extend(chunk.unwrap());
        }
    }
    out
}

#[test]
fn votable_tabledata() {
    insta::assert_snapshot!(
        String::from_utf8(write(Format::VoTable, QueryStatus::Overflow)).unwrap()
    );
}

#[test]
fn votable_binary2() {
    insta::assert_snapshot!(
        String::from_utf8(write(Format::VoTableBinary2, QueryStatus::Ok)).unwrap()
    );
}

#[test]
fn csv_and_tsv() {
    insta::assert_snapshot!(String::from_utf8(write(Format::Csv, QueryStatus::Ok)).unwrap());
    insta::assert_snapshot!(String::from_utf8(write(Format::Tsv, QueryStatus::Ok)).unwrap());
}

#[test]
fn json() {
    insta::assert_snapshot!(String::from_utf8(write(Format::Json, QueryStatus::Overflow)).unwrap());
}

#[test]
fn fits_header_and_row_layout() {
    let out = write(Format::Fits, QueryStatus::Ok);
    assert_eq!(out.len() % 2880, 0, "whole FITS blocks");
    // Primary HDU, BINTABLE header, one block of data.
    let header = String::from_utf8_lossy(&out[2880..5760]).to_string();
    let cards: Vec<&str> = (0..header.len() / 80)
        .map(|i| header[i * 80..(i + 1) * 80].trim_end())
        .take_while(|c| *c != "END")
        .collect();
    insta::assert_snapshot!(cards.join("\n"));
    // Row 1 starts the data: id (J) = 1, big (K) = 2^53 + 1.
    let data = &out[5760..];
    assert_eq!(&data[..4], &1i32.to_be_bytes());
    assert_eq!(&data[4..12], &9_007_199_254_740_993i64.to_be_bytes());
    // The polygon's descriptor (6 elements at heap offset 0) ends row 1;
    // the heap, right after the two 56-byte rows, holds its six doubles.
    assert_eq!(&data[48..56], &[0, 0, 0, 6, 0, 0, 0, 0]);
    assert_eq!(&data[112..120], &10.0f64.to_be_bytes());
    assert_eq!(&data[152..160], &1.0f64.to_be_bytes());
}

#[test]
fn parquet_round_trips_values_and_metadata() {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let out = write(Format::Parquet, QueryStatus::Ok);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out)).unwrap();
    let kv = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .clone();
    assert!(kv.iter().any(|k| k.key == "IVOA.VOTable-Parquet.version"));
    let schema = reader.schema().clone();
    assert_eq!(
        schema.field_with_name("ra").unwrap().metadata()["unit"],
        "deg"
    );
    let batches: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
    let (_, original) = batch();
    assert_eq!(batches[0].columns(), original.columns());
}
