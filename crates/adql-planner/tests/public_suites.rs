//! Queries that the public ADQL parser test suites (the IVOA's lyonetia
//! collection, with GAVO DaCHS's tests) mark valid and that Corvus refuses
//! on purpose, each with its reason. Every other query of those suites is in
//! `adql-syntax/test_data/valid.adql` and translates there. These suites test
//! the grammar only; the refusals here are about names, types and functions
//! (and one lexical rule), and each names what to fix.

use adql_planner::translate;
use catalog_model::{AllowAll, StaticCatalog};

const REFUSED: &[(&str, (usize, usize), &str)] = &[
    // ivoa/lyonetia src/adql/gavo/additionaltests.xml (6d5e927e-59b3-11ec-beef-28d2445a8967): the function is not one this service has: accepting it would only move the error to execution.
    (
        r#"SELECT ivo_foo(6) || 9
			from Y"#,
        (1, 8),
        r#"unknown function 'ivo_foo'"#,
    ),
    // ivoa/lyonetia src/adql/gavo/additionaltests.xml (760a0cdc-59b3-11ec-beef-28d2445a8967): the function is not one this service has: accepting it would only move the error to execution.
    (
        r#"SELECT ivo_foo('11') || 11
			from Y"#,
        (1, 8),
        r#"unknown function 'ivo_foo'"#,
    ),
    // ivoa/lyonetia src/adql/gavo/additionaltests.xml (8b9aa804-59b3-11ec-beef-28d2445a8967): a type error: a string where a number is required.
    (
        r#"SELECT '30'*1323
			from Y"#,
        (1, 8),
        r#"* needs a number, but this is a string"#,
    ),
    // ivoa/lyonetia src/adql/gavo/geometry.xml (e03ce418-4d01-11e6-8c9d-819288b39233): the qualifier names no table of the FROM clause (in SQL an alias hides the table's own name).
    (
        r#"SELECT TAP_UPLOAD.user_table.ra FROM
		TAP_UPLOAD.user_table WHERE (1=CONTAINS(POINT('ICRS',
		usnob.data.raj2000, usnob.data.dej2000), CIRCLE('ICRS',
		TAP_UPLOAD.user_table.ra2000, a.dec2000, 0.016666666666666666)))"#,
        (3, 3),
        r#"no table 'usnob.data' in FROM"#,
    ),
    // ivoa/lyonetia src/adql/gavo/simpleunit.xml (5e700476-4458-11e6-96e2-28b2bdcff70b): SQL-92 §5.2 wants a separator after a number; reading 2mass_j as 2 AS mass_j would silently answer a constant.
    (
        r#"SELECT 89x FROM z"#,
        (1, 8),
        r#"expected a number, or an identifier starting with a letter, found '89x'"#,
    ),
    // ivoa/lyonetia src/adql/gavo/simpleunit.xml (8f06ec9a-450b-11e6-b727-b5b3c3190c3d): the qualifier names no table of the FROM clause (in SQL an alias hides the table's own name).
    (r#"select x.a from z"#, (1, 8), r#"no table 'x' in FROM"#),
    // ivoa/lyonetia src/adql/gavo/simpleunit.xml (95b213bc-450b-11e6-b727-b5b3c3190c3d): the qualifier names no table of the FROM clause (in SQL an alias hides the table's own name).
    (r#"select x.a, b from z"#, (1, 8), r#"no table 'x' in FROM"#),
    // ivoa/lyonetia src/adql/gavo/simpleunit.xml (6ec4c4d8-450c-11e6-8564-332de33a5c03): a type error: an integer compared with a string.
    (
        r#"select x from z where 5+9>'gaga'||'bla'"#,
        (1, 27),
        r#"cannot compare an integer with a string"#,
    ),
    // ivoa/lyonetia src/adql/gavo/simpleunit.xml (f0904614-4cf9-11e6-bf5d-ebbe7e1e6fb5): the qualifier names no table of the FROM clause (in SQL an alias hides the table's own name).
    (
        r#"select x, foo.* from spatial, misc"#,
        (1, 11),
        r#"no table 'foo' in FROM"#,
    ),
    // ivoa/lyonetia src/adql/gavo/simpleunit.xml (1095dfb4-4cfa-11e6-bf5d-ebbe7e1e6fb5): the qualifier names no table of the FROM clause (in SQL an alias hides the table's own name).
    (
        r#"select misc.* from spatial join misc as foo on (spatial.dist=foo.mass)"#,
        (1, 8),
        r#"no table 'misc' in FROM"#,
    ),
    // ivoa/lyonetia src/adql/gavo/simpleunit.xml (45429eac-4cfd-11e6-9064-032db3af9290): the qualifier names no table of the FROM clause (in SQL an alias hides the table's own name).
    (
        r#"select spatial.dist, b.speed from spatial as a join misc as b on (a.dist>b.speed)"#,
        (1, 8),
        r#"no table 'spatial' in FROM"#,
    ),
    // ivoa/lyonetia src/adql/gavo/simpleunit.xml (1cb90482-4d00-11e6-866d-736653f6053c): the function is not one this service has: accepting it would only move the error to execution.
    (
        r#"select ivo_getstring() || 'abc' from t"#,
        (1, 8),
        r#"unknown function 'ivo_getstring'"#,
    ),
    // ivoa/lyonetia src/adql/gavo/warts.xml (118c7d86-4509-11e6-b60c-9d2c33f9b7a2): a type error: CENTROID of a number.
    (
        r#"select x from y where CENTROID(3)=x"#,
        (1, 32),
        r#"CENTROID needs a geometry here, but this is an integer"#,
    ),
    // ivoa/lyonetia src/adql/gavo/warts.xml (1aa0786e-4509-11e6-b60c-9d2c33f9b7a2): a type error: CENTROID of a number.
    (
        r#"select x from y where CENTROID(COUNT(*))=x"#,
        (1, 32),
        r#"CENTROID needs a geometry here, but this is an integer"#,
    ),
    // ivoa/lyonetia src/adql/gavo/warts.xml (d0725dde-450d-11e6-b20b-6d529bdffd4c): a type error: a string where a number is required.
    (
        r#"SELECT * FROM y WHERE 1=CONTAINS(POINT('ICRS',x,'sy') ,CIRCLE('ICRS',x,y,z))"#,
        (1, 49),
        r#"POINT needs a number, but this is a string"#,
    ),
    // ivoa/lyonetia src/adql/gavo/whitespace.xml (a66c56e6-f18d-11e8-96df-28d244962af0): SQL-92 §5.2 wants a separator after a number; reading 2mass_j as 2 AS mass_j would silently answer a constant.
    (
        r#"select * from bar order   by foo asc, 2desc"#,
        (1, 39),
        r#"expected a number, or an identifier starting with a letter, found '2desc'"#,
    ),
    // ivoa/lyonetia src/adql/ivoa/O1_geometrical_functions.xml (e03ce418-4d01-11e6-8c9d-819288b39233): the qualifier names no table of the FROM clause (in SQL an alias hides the table's own name).
    (
        r#"select TAP_UPLOAD.user_table.ra FROM
		TAP_UPLOAD.user_table WHERE (1=CONTAINS(POINT('ICRS',
		usnob.data.raj2000, usnob.data.dej2000), CIRCLE('ICRS',
		TAP_UPLOAD.user_table.ra2000, a.dec2000, 0.016666666666666666)))"#,
        (3, 3),
        r#"no table 'usnob.data' in FROM"#,
    ),
    // ivoa/lyonetia src/adql/ivoa/X1_obscore_eso.xml (7928f365-6631-4415-be7d-29865f14c083): the function is not one this service has: accepting it would only move the error to execution.
    (
        r#"-- Use case name: 'obs advanced 1'

SELECT * FROM ivoa.ObsCore WHERE dp_id in (
   SELECT distinct J.dp_id FROM
      (select * FROM ivoa.Obscore WHERE dataproduct_subtype ='srctbl' 
      AND obs_collection = 'HAWKI' 
      AND gal_lat < 10 AND gal_lat > -10 
      AND em_min < 1.265E-6 AND em_max > 1.265E-6 ) J, 

      (select * FROM ivoa.Obscore WHERE dataproduct_subtype ='srctbl' 
      AND obs_collection = 'HAWKI' 
      AND gal_lat < 10 AND gal_lat > -10 
      AND em_min < 1.66E-6 AND em_max > 1.66E-6 ) H 

   WHERE INTERSECTS( J.s_region , H.s_region)=1 and 
   ESO_INTERSECTION( J.s_region , H.s_region) > 0.8*AREA( J.s_region ) 
)

-- Find overlapping J and H HAWKI source tables within the GC plane:
-- provided they overlap for at least 80% of the J image.
-- 
-- ESO specific:
--    (A) gal_lat (and gal_lon) are ESO specific columns (not part of the ObsCore standard)
--    (B) ESO_INTERSECTION is an ESO-defined function
--        which returns the area of the intersection between 2 regions.
-- Note: You can dismiss the gal_lat constraints and try on the whole sky."#,
        (16, 4),
        r#"unknown function 'ESO_INTERSECTION'"#,
    ),
    // ivoa/lyonetia src/adql/ivoa/X1_obscore_eso.xml (7f30606b-509a-491f-8b5a-5d712f37670c): the function is not one this service has: accepting it would only move the error to execution.
    (
        r#"-- Use case name: 'obs advanced 2'

SELECT s_resolution as PSF_FWHM,
AVG(turbfwhm) as mass_seeing_avg, AVG(tet) as mass_isoplanaticangle_avg,
count(distinct(mass.start_date)) as mass_num_samples,
min(mass.start_date) as mass_start_date, max(mass.start_date) as mass_stop_date,
raw.dp_id as Originating_RAW
FROM ivoa.obscore,
asm.MASS_paranal as mass,
dbo.raw as raw
WHERE mass.start_date  between eso_dateadd_sec(-360, raw.exp_start) and eso_dateadd_sec(360, raw.exp_start)
and instrument='HAWKI'
and raw.dp_id in
      (select source_file from phase3v2.provenance as p, phase3v2.files as f
       where p.product_file=f.file_id and archive_id=ivoa.obscore.dp_id)
and ivoa.obscore.dp_id='ADP.2016-07-29T13:44:04.217'
group by s_resolution, obscore.dp_id, raw.dp_id
-- The results do not take into account the scaling necessary
-- to bring the seeing to the airmass and wavelength of the observation.
-- See: http://www.eso.org/observing/etc/doc/helpfors.html#seeing
-- Other bands:
-- ADP.2016-07-29T13:44:03.709 J   (FWHM_J / FWHM_V = 0.85 * POW(AIRMASS_OBS / AIRMASS_MASS, 0.6) )
-- ADP.2016-07-18T09:00:02.473 Brackett Gamma
-- ADP.2016-07-29T13:44:04.217 Ks  (FWHM_Ks / FWHM_V = 0.76 * POW(AIRMASS_OBS / AIRMASS_MASS, 0.6))"#,
        (11, 32),
        r#"unknown function 'eso_dateadd_sec'"#,
    ),
    // ivoa/lyonetia src/adql/ivoa/X1_obscore_eso.xml (4b8bd9f4-611c-4d2e-8227-2525dee664d2): the function is not one this service has: accepting it would only move the error to execution.
    (
        r#"SELECT TOP 50 J.target_name, J.obs_publisher_did, J.s_ra, J.s_dec, J.em_min, J.em_max, J.instrument_name,
              H.target_name, H.obs_publisher_did, H.s_ra, H.s_dec, H.em_min, H.em_max, H.instrument_name,
              ESO_INTERSECTION(J.s_region,H.s_region) as OverlappingArea, J.s_region, H.s_region
FROM
     (SELECT * FROM ivoa.Obscore WHERE dataproduct_type='image'
        AND INTERSECTS(CIRCLE('ICRS',266.42,-29.0,5),s_region) = 1
        AND em_min < 1.265E-6 AND em_max > 1.265E-6
     ) as J
,
     (SELECT * FROM ivoa.Obscore WHERE dataproduct_type='image'
        AND INTERSECTS(CIRCLE('ICRS',266.42,-29.0,5),s_region) = 1
        AND em_min < 1.66E-6 AND em_max > 1.66E-6
     ) as H
WHERE INTERSECTS(J.s_region, H.s_region)=1
  AND ESO_INTERSECTION(J.s_region,H.s_region) > 1.79
ORDER by 1, OverlappingArea desc"#,
        (3, 15),
        r#"unknown function 'ESO_INTERSECTION'"#,
    ),
    // ivoa/lyonetia src/adql/ivoa/X1_obscore_eso.xml (1084e068-8f31-4007-9d89-115dec609452): the function is not one this service has: accepting it would only move the error to execution.
    (
        r#"SELECT *
       FROM
             (select * FROM ivoa.Obscore WHERE dataproduct_type ='image'
             AND INTERSECTS(CIRCLE('ICRS',266.42,-29.0,5), s_region) = 1 
             AND em_min < 1.265E-6 AND em_max > 1.265E-6 ) J, 

            (select * FROM ivoa.Obscore WHERE dataproduct_type ='image' 
             AND INTERSECTS(CIRCLE('ICRS',266.42,-29.0,5), s_region) = 1 
             AND em_min < 1.66E-6 AND em_max > 1.66E-6 ) H 

       WHERE INTERSECTS( J.s_region , H.s_region)=1 and 
       ESO_INTERSECTION( J.s_region , H.s_region) > 1.79"#,
        (12, 8),
        r#"unknown function 'ESO_INTERSECTION'"#,
    ),
    // ivoa/lyonetia src/adql/ivoa/X1_obscore_eso.xml (6794498f-1603-4a12-b0dd-e48be1acab4b): the function is not one this service has: accepting it would only move the error to execution.
    (
        r#"SELECT start_date, midpoint_date, ra, dec, alt, az, *
FROM asm.lhatpros_paranal_profiles
WHERE midpoint_date between eso_dateadd_sec(-2700.000000, '2019-06-06T09:55:27') and eso_dateadd_sec(2700.000000, '2019-06-06T09:55:27')
  AND CONTAINS(POINT('',ra, dec), CIRCLE('', 332.200000, -25.500000, 2.500000))=1
  AND valid=1"#,
        (3, 29),
        r#"unknown function 'eso_dateadd_sec'"#,
    ),
];

#[test]
fn refused_on_purpose_with_a_position_and_a_reason() {
    for (query, at, message) in REFUSED {
        let e = match translate(query, &StaticCatalog::open_world(), &AllowAll) {
            Ok(t) => panic!("accepted: {query}\nas: {}", t.sql),
            Err(e) => e,
        };
        assert_eq!(e.position(), Some(*at), "{query}: {e}");
        assert!(e.to_string().contains(message), "{query}: {e}");
    }
}
