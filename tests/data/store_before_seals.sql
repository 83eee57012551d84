-- An audit store written by tierlang at commit ba860d8 (before comparisons and analyses
-- were sealed): `sqlite3 old.db .dump` after, with that commit's code (PYTHONPATH=its worktree),
--   tierlang diff base.tier base2.tier --data good.csv --audit old.db
--   tierlang sensitivity s.tier --data good.csv --samples 20 --seed 1 --audit old.db
--   tierlang diff --runs 2 1 --audit old.db
-- (base.tier, good.csv: tests/bad_inputs; base2.tier: ">= 5" made ">= 4"; s.tier: the total's
-- divisor 25 made "param d = 25 range 20..30"). 3 runs, 2 comparisons, 1 analysis, no seals.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE tierlang_meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);
INSERT INTO tierlang_meta VALUES('application','tierlang audit store');
INSERT INTO tierlang_meta VALUES('schema_version','7');
CREATE TABLE methodologies (
    sha256       TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    version      TEXT,
    effective    TEXT,
    entity       TEXT,
    key_column   TEXT,
    label_column TEXT,
    doc          TEXT,
    path         TEXT,
    source       TEXT NOT NULL,
    sources      TEXT NOT NULL
);
INSERT INTO methodologies VALUES('8fa85832f277f8a1e3edf2515ddaf467d0911d6e4be6c87a5ea34061448578b3','Bad inputs: base','1',NULL,'Trust','code','name','The small fixed methodology every malformed data file in tests/bad_inputs/data/ is run with.','base.tier',replace('methodology "Bad inputs: base"\nversion "1"\nentity Trust key code label name\n"""The small fixed methodology every malformed data file in tests/bad_inputs/data/ is run with."""\n\ntype rating = level inadequate < requires_improvement < good < outstanding\n\ninput score: number "Score" range 0..100\ninput safe: rating "Safety rating"\ninput flagged: boolean "Flagged"\ninput region: text "Region"\n\nlet base_points = map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }\nscore total "Total" = score / 25 + base_points\n\ntier overall "Overall" from total {\n  top_band: >= 5\n  middle:   >= 2\n  bottom:   otherwise\n}\n\nlimit overall to at most middle when flagged or region == "Remote"\n','\n',char(10)),'[["base.tier", "methodology \"Bad inputs: base\"\nversion \"1\"\nentity Trust key code label name\n\"\"\"The small fixed methodology every malformed data file in tests/bad_inputs/data/ is run with.\"\"\"\n\ntype rating = level inadequate < requires_improvement < good < outstanding\n\ninput score: number \"Score\" range 0..100\ninput safe: rating \"Safety rating\"\ninput flagged: boolean \"Flagged\"\ninput region: text \"Region\"\n\nlet base_points = map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }\nscore total \"Total\" = score / 25 + base_points\n\ntier overall \"Overall\" from total {\n  top_band: >= 5\n  middle:   >= 2\n  bottom:   otherwise\n}\n\nlimit overall to at most middle when flagged or region == \"Remote\"\n"]]');
INSERT INTO methodologies VALUES('6871ed11ab271e96e8ef7cdacc59958ef631dc7e6dcb9bd0a50b9f3b2fd3525d','Bad inputs: base','1',NULL,'Trust','code','name','The small fixed methodology every malformed data file in tests/bad_inputs/data/ is run with.','base2.tier',replace('methodology "Bad inputs: base"\nversion "1"\nentity Trust key code label name\n"""The small fixed methodology every malformed data file in tests/bad_inputs/data/ is run with."""\n\ntype rating = level inadequate < requires_improvement < good < outstanding\n\ninput score: number "Score" range 0..100\ninput safe: rating "Safety rating"\ninput flagged: boolean "Flagged"\ninput region: text "Region"\n\nlet base_points = map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }\nscore total "Total" = score / 25 + base_points\n\ntier overall "Overall" from total {\n  top_band: >= 4\n  middle:   >= 2\n  bottom:   otherwise\n}\n\nlimit overall to at most middle when flagged or region == "Remote"\n','\n',char(10)),'[["base2.tier", "methodology \"Bad inputs: base\"\nversion \"1\"\nentity Trust key code label name\n\"\"\"The small fixed methodology every malformed data file in tests/bad_inputs/data/ is run with.\"\"\"\n\ntype rating = level inadequate < requires_improvement < good < outstanding\n\ninput score: number \"Score\" range 0..100\ninput safe: rating \"Safety rating\"\ninput flagged: boolean \"Flagged\"\ninput region: text \"Region\"\n\nlet base_points = map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }\nscore total \"Total\" = score / 25 + base_points\n\ntier overall \"Overall\" from total {\n  top_band: >= 4\n  middle:   >= 2\n  bottom:   otherwise\n}\n\nlimit overall to at most middle when flagged or region == \"Remote\"\n"]]');
INSERT INTO methodologies VALUES('e3f5ccc8f5803ee84a94512710581e502d53e1cdf77a9689c4f4fe872af5fbdf','Bad inputs: base','1',NULL,'Trust','code','name','The small fixed methodology every malformed data file in tests/bad_inputs/data/ is run with.','s.tier',replace('methodology "Bad inputs: base"\nversion "1"\nentity Trust key code label name\n"""The small fixed methodology every malformed data file in tests/bad_inputs/data/ is run with."""\n\ntype rating = level inadequate < requires_improvement < good < outstanding\n\ninput score: number "Score" range 0..100\ninput safe: rating "Safety rating"\ninput flagged: boolean "Flagged"\ninput region: text "Region"\n\nlet base_points = map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }\nparam d = 25 range 20..30\nscore total "Total" = score / d + base_points\n\ntier overall "Overall" from total {\n  top_band: >= 5\n  middle:   >= 2\n  bottom:   otherwise\n}\n\nlimit overall to at most middle when flagged or region == "Remote"\n','\n',char(10)),'[["s.tier", "methodology \"Bad inputs: base\"\nversion \"1\"\nentity Trust key code label name\n\"\"\"The small fixed methodology every malformed data file in tests/bad_inputs/data/ is run with.\"\"\"\n\ntype rating = level inadequate < requires_improvement < good < outstanding\n\ninput score: number \"Score\" range 0..100\ninput safe: rating \"Safety rating\"\ninput flagged: boolean \"Flagged\"\ninput region: text \"Region\"\n\nlet base_points = map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }\nparam d = 25 range 20..30\nscore total \"Total\" = score / d + base_points\n\ntier overall \"Overall\" from total {\n  top_band: >= 5\n  middle:   >= 2\n  bottom:   otherwise\n}\n\nlimit overall to at most middle when flagged or region == \"Remote\"\n"]]');
CREATE TABLE datasets (
    sha256  TEXT PRIMARY KEY,
    path    TEXT,
    format  TEXT,
    rows    INTEGER,
    columns TEXT
);
INSERT INTO datasets VALUES('2212b0b847452d580ab066ffbfe72605e99e6901ffa1803bbeb5f98a5a1321a2','good.csv','csv',3,'["code", "name", "score", "safe", "flagged", "region"]');
CREATE TABLE runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    started             TEXT NOT NULL,
    finished            TEXT NOT NULL,
    tool_version        TEXT NOT NULL,
    methodology_sha256  TEXT NOT NULL REFERENCES methodologies(sha256),
    methodology_name    TEXT NOT NULL,
    methodology_version TEXT,
    methodology_path    TEXT,
    dataset_sha256      TEXT REFERENCES datasets(sha256),
    dataset_path        TEXT,
    params              TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'complete',
    entity_count        INTEGER NOT NULL,
    node_count          INTEGER NOT NULL,
    values_per_entity   INTEGER NOT NULL,
    first_value_id      INTEGER,
    note                TEXT
, content_hash TEXT, chain_hash TEXT, rerun_of INTEGER REFERENCES runs(id), user TEXT);
INSERT INTO runs VALUES(1,'2026-12-03T07:35:28.223Z','2026-12-03T07:35:28.227Z','0.1.0','8fa85832f277f8a1e3edf2515ddaf467d0911d6e4be6c87a5ea34061448578b3','Bad inputs: base','1','base.tier','2212b0b847452d580ab066ffbfe72605e99e6901ffa1803bbeb5f98a5a1321a2','good.csv','{}','complete',3,7,7,1,'tierlang diff: old','9ca9208ae737ad4b9bc9c8322c942ad0231414dd1652907f1edef906468f90de','46221857b771213abe7cd7c543493ac0167074ca1a14b82364de71c5ca88a2ec',NULL,'root');
INSERT INTO runs VALUES(2,'2026-12-03T07:35:28.229Z','2026-12-03T07:35:28.231Z','0.1.0','6871ed11ab271e96e8ef7cdacc59958ef631dc7e6dcb9bd0a50b9f3b2fd3525d','Bad inputs: base','1','base2.tier','2212b0b847452d580ab066ffbfe72605e99e6901ffa1803bbeb5f98a5a1321a2','good.csv','{}','complete',3,7,7,22,'tierlang diff: new','1d62dc747b526dc5105e1514cd6249564454dcde2e60b9d3e084ad92cd68e62a','e413df8e695c1e51639e2c4281c2b89cb184dd430ebf3de404f41341e302f5ec',NULL,'root');
INSERT INTO runs VALUES(3,'2026-12-03T07:35:29.960Z','2026-12-03T07:35:29.963Z','0.1.0','e3f5ccc8f5803ee84a94512710581e502d53e1cdf77a9689c4f4fe872af5fbdf','Bad inputs: base','1','s.tier','2212b0b847452d580ab066ffbfe72605e99e6901ffa1803bbeb5f98a5a1321a2','good.csv','{"d": 25.0}','complete',3,8,8,43,NULL,'32b1c3d6a7946911a04164471e42f617ea6d2fdf8cd6e53489e6b86ad049c059','2062c2aba33a6dd728c25f792542a31c5219f5e7973658823461a241ea9603d2',NULL,'root');
CREATE TABLE entities (
    run      INTEGER NOT NULL REFERENCES runs(id),
    position INTEGER NOT NULL,
    key      TEXT NOT NULL,
    label    TEXT,
    PRIMARY KEY (run, position)
) WITHOUT ROWID;
INSERT INTO entities VALUES(1,0,'A1','Alpha');
INSERT INTO entities VALUES(1,1,'B2','Beta');
INSERT INTO entities VALUES(1,2,'C3','Gamma');
INSERT INTO entities VALUES(2,0,'A1','Alpha');
INSERT INTO entities VALUES(2,1,'B2','Beta');
INSERT INTO entities VALUES(2,2,'C3','Gamma');
INSERT INTO entities VALUES(3,0,'A1','Alpha');
INSERT INTO entities VALUES(3,1,'B2','Beta');
INSERT INTO entities VALUES(3,2,'C3','Gamma');
CREATE TABLE nodes (
    run            INTEGER NOT NULL REFERENCES runs(id),
    name           TEXT NOT NULL,
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    label          TEXT,
    doc            TEXT,
    source_text    TEXT,
    expression     TEXT,
    file           TEXT,
    line           INTEGER,
    overrides      TEXT,
    type           TEXT NOT NULL,
    base           TEXT NOT NULL,
    scalar         INTEGER NOT NULL,
    dependencies   TEXT NOT NULL,
    scale          TEXT,
    call           TEXT,
    weights        TEXT,
    tier           TEXT,
    data_column    TEXT,
    range          TEXT,
    required       INTEGER,
    declared_value TEXT, level TEXT, aggregates TEXT,
    PRIMARY KEY (run, name)
);
INSERT INTO nodes VALUES(1,'score',0,'input','Score',NULL,'input score: number "Score" range 0..100',NULL,'base.tier',8,NULL,'number','number',0,'[]',NULL,NULL,NULL,NULL,'score','[0.0, 100.0]',0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(1,'safe',1,'input','Safety rating',NULL,'input safe: rating "Safety rating"',NULL,'base.tier',9,NULL,'level rating','level',0,'[]','["inadequate", "requires_improvement", "good", "outstanding"]',NULL,NULL,NULL,'safe',NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(1,'flagged',2,'input','Flagged',NULL,'input flagged: boolean "Flagged"',NULL,'base.tier',10,NULL,'boolean','boolean',0,'[]',NULL,NULL,NULL,NULL,'flagged',NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(1,'region',3,'input','Region',NULL,'input region: text "Region"',NULL,'base.tier',11,NULL,'text','text',0,'[]',NULL,NULL,NULL,NULL,'region',NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(1,'base_points',4,'let',NULL,NULL,'let base_points = map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }','map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }','base.tier',13,NULL,'number','number',0,'["safe"]',NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(1,'total',5,'score','Total',NULL,'score total "Total" = score / 25 + base_points','score / 25 + base_points','base.tier',14,NULL,'number','number',0,'["score", "base_points"]',NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(1,'overall',6,'tier','Overall',NULL,replace('tier overall "Overall" from total {\n  top_band: >= 5\n  middle:   >= 2\n  bottom:   otherwise\n}','\n',char(10)),'total','base.tier',16,NULL,'level overall','level',0,'["total", "flagged", "region"]','["bottom", "middle", "top_band"]',NULL,NULL,'{"from": "total", "scale": ["bottom", "middle", "top_band"], "missing_label": null, "rules": [{"index": 0, "label": "top_band", "text": ">= 5", "condition": ">= 5", "kind": "threshold", "op": ">=", "threshold": 5.0, "threshold_text": "5"}, {"index": 1, "label": "middle", "text": ">= 2", "condition": ">= 2", "kind": "threshold", "op": ">=", "threshold": 2.0, "threshold_text": "2"}, {"index": 2, "label": "bottom", "text": "otherwise", "condition": "otherwise", "kind": "otherwise"}], "limits": [{"index": 0, "direction": "at most", "label": "middle", "condition": "flagged or region == \"Remote\"", "text": "limit overall to at most middle when flagged or region == \"Remote\""}]}',NULL,NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(2,'score',0,'input','Score',NULL,'input score: number "Score" range 0..100',NULL,'base2.tier',8,NULL,'number','number',0,'[]',NULL,NULL,NULL,NULL,'score','[0.0, 100.0]',0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(2,'safe',1,'input','Safety rating',NULL,'input safe: rating "Safety rating"',NULL,'base2.tier',9,NULL,'level rating','level',0,'[]','["inadequate", "requires_improvement", "good", "outstanding"]',NULL,NULL,NULL,'safe',NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(2,'flagged',2,'input','Flagged',NULL,'input flagged: boolean "Flagged"',NULL,'base2.tier',10,NULL,'boolean','boolean',0,'[]',NULL,NULL,NULL,NULL,'flagged',NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(2,'region',3,'input','Region',NULL,'input region: text "Region"',NULL,'base2.tier',11,NULL,'text','text',0,'[]',NULL,NULL,NULL,NULL,'region',NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(2,'base_points',4,'let',NULL,NULL,'let base_points = map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }','map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }','base2.tier',13,NULL,'number','number',0,'["safe"]',NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(2,'total',5,'score','Total',NULL,'score total "Total" = score / 25 + base_points','score / 25 + base_points','base2.tier',14,NULL,'number','number',0,'["score", "base_points"]',NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(2,'overall',6,'tier','Overall',NULL,replace('tier overall "Overall" from total {\n  top_band: >= 4\n  middle:   >= 2\n  bottom:   otherwise\n}','\n',char(10)),'total','base2.tier',16,NULL,'level overall','level',0,'["total", "flagged", "region"]','["bottom", "middle", "top_band"]',NULL,NULL,'{"from": "total", "scale": ["bottom", "middle", "top_band"], "missing_label": null, "rules": [{"index": 0, "label": "top_band", "text": ">= 4", "condition": ">= 4", "kind": "threshold", "op": ">=", "threshold": 4.0, "threshold_text": "4"}, {"index": 1, "label": "middle", "text": ">= 2", "condition": ">= 2", "kind": "threshold", "op": ">=", "threshold": 2.0, "threshold_text": "2"}, {"index": 2, "label": "bottom", "text": "otherwise", "condition": "otherwise", "kind": "otherwise"}], "limits": [{"index": 0, "direction": "at most", "label": "middle", "condition": "flagged or region == \"Remote\"", "text": "limit overall to at most middle when flagged or region == \"Remote\""}]}',NULL,NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(3,'score',0,'input','Score',NULL,'input score: number "Score" range 0..100',NULL,'s.tier',8,NULL,'number','number',0,'[]',NULL,NULL,NULL,NULL,'score','[0.0, 100.0]',0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(3,'safe',1,'input','Safety rating',NULL,'input safe: rating "Safety rating"',NULL,'s.tier',9,NULL,'level rating','level',0,'[]','["inadequate", "requires_improvement", "good", "outstanding"]',NULL,NULL,NULL,'safe',NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(3,'flagged',2,'input','Flagged',NULL,'input flagged: boolean "Flagged"',NULL,'s.tier',10,NULL,'boolean','boolean',0,'[]',NULL,NULL,NULL,NULL,'flagged',NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(3,'region',3,'input','Region',NULL,'input region: text "Region"',NULL,'s.tier',11,NULL,'text','text',0,'[]',NULL,NULL,NULL,NULL,'region',NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(3,'base_points',4,'let',NULL,NULL,'let base_points = map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }','map safe { inadequate: 0, requires_improvement: 1, good: 2, outstanding: 3 }','s.tier',13,NULL,'number','number',0,'["safe"]',NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(3,'d',5,'param',NULL,NULL,'param d = 25 range 20..30',NULL,'s.tier',14,NULL,'scalar number','number',1,'[]',NULL,NULL,NULL,NULL,NULL,'[20.0, 30.0]',0,'25.0',NULL,NULL);
INSERT INTO nodes VALUES(3,'total',6,'score','Total',NULL,'score total "Total" = score / d + base_points','score / d + base_points','s.tier',15,NULL,'number','number',0,'["score", "d", "base_points"]',NULL,NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,NULL);
INSERT INTO nodes VALUES(3,'overall',7,'tier','Overall',NULL,replace('tier overall "Overall" from total {\n  top_band: >= 5\n  middle:   >= 2\n  bottom:   otherwise\n}','\n',char(10)),'total','s.tier',17,NULL,'level overall','level',0,'["total", "flagged", "region"]','["bottom", "middle", "top_band"]',NULL,NULL,'{"from": "total", "scale": ["bottom", "middle", "top_band"], "missing_label": null, "rules": [{"index": 0, "label": "top_band", "text": ">= 5", "condition": ">= 5", "kind": "threshold", "op": ">=", "threshold": 5.0, "threshold_text": "5"}, {"index": 1, "label": "middle", "text": ">= 2", "condition": ">= 2", "kind": "threshold", "op": ">=", "threshold": 2.0, "threshold_text": "2"}, {"index": 2, "label": "bottom", "text": "otherwise", "condition": "otherwise", "kind": "otherwise"}], "limits": [{"index": 0, "direction": "at most", "label": "middle", "condition": "flagged or region == \"Remote\"", "text": "limit overall to at most middle when flagged or region == \"Remote\""}]}',NULL,NULL,0,NULL,NULL,NULL);
CREATE TABLE node_values (
    id             INTEGER PRIMARY KEY,
    run            INTEGER NOT NULL,
    entity         INTEGER NOT NULL,
    node           INTEGER NOT NULL,
    num            REAL,
    text           TEXT,
    bool           INTEGER,
    missing_reason TEXT
);
INSERT INTO node_values VALUES(1,1,0,0,90.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(2,1,0,1,NULL,'good',NULL,NULL);
INSERT INTO node_values VALUES(3,1,0,2,NULL,NULL,0,NULL);
INSERT INTO node_values VALUES(4,1,0,3,NULL,'North',NULL,NULL);
INSERT INTO node_values VALUES(5,1,0,4,2.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(6,1,0,5,5.5999999999999996447,NULL,NULL,NULL);
INSERT INTO node_values VALUES(7,1,0,6,NULL,'top_band',NULL,NULL);
INSERT INTO node_values VALUES(8,1,1,0,40.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(9,1,1,1,NULL,'inadequate',NULL,NULL);
INSERT INTO node_values VALUES(10,1,1,2,NULL,NULL,1,NULL);
INSERT INTO node_values VALUES(11,1,1,3,NULL,'South',NULL,NULL);
INSERT INTO node_values VALUES(12,1,1,4,0.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(13,1,1,5,1.6000000000000000888,NULL,NULL,NULL);
INSERT INTO node_values VALUES(14,1,1,6,NULL,'bottom',NULL,NULL);
INSERT INTO node_values VALUES(15,1,2,0,75.500000000000000001,NULL,NULL,NULL);
INSERT INTO node_values VALUES(16,1,2,1,NULL,'outstanding',NULL,NULL);
INSERT INTO node_values VALUES(17,1,2,2,NULL,NULL,0,NULL);
INSERT INTO node_values VALUES(18,1,2,3,NULL,'North',NULL,NULL);
INSERT INTO node_values VALUES(19,1,2,4,3.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(20,1,2,5,6.0199999999999995736,NULL,NULL,NULL);
INSERT INTO node_values VALUES(21,1,2,6,NULL,'top_band',NULL,NULL);
INSERT INTO node_values VALUES(22,2,0,0,90.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(23,2,0,1,NULL,'good',NULL,NULL);
INSERT INTO node_values VALUES(24,2,0,2,NULL,NULL,0,NULL);
INSERT INTO node_values VALUES(25,2,0,3,NULL,'North',NULL,NULL);
INSERT INTO node_values VALUES(26,2,0,4,2.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(27,2,0,5,5.5999999999999996447,NULL,NULL,NULL);
INSERT INTO node_values VALUES(28,2,0,6,NULL,'top_band',NULL,NULL);
INSERT INTO node_values VALUES(29,2,1,0,40.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(30,2,1,1,NULL,'inadequate',NULL,NULL);
INSERT INTO node_values VALUES(31,2,1,2,NULL,NULL,1,NULL);
INSERT INTO node_values VALUES(32,2,1,3,NULL,'South',NULL,NULL);
INSERT INTO node_values VALUES(33,2,1,4,0.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(34,2,1,5,1.6000000000000000888,NULL,NULL,NULL);
INSERT INTO node_values VALUES(35,2,1,6,NULL,'bottom',NULL,NULL);
INSERT INTO node_values VALUES(36,2,2,0,75.500000000000000001,NULL,NULL,NULL);
INSERT INTO node_values VALUES(37,2,2,1,NULL,'outstanding',NULL,NULL);
INSERT INTO node_values VALUES(38,2,2,2,NULL,NULL,0,NULL);
INSERT INTO node_values VALUES(39,2,2,3,NULL,'North',NULL,NULL);
INSERT INTO node_values VALUES(40,2,2,4,3.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(41,2,2,5,6.0199999999999995736,NULL,NULL,NULL);
INSERT INTO node_values VALUES(42,2,2,6,NULL,'top_band',NULL,NULL);
INSERT INTO node_values VALUES(43,3,0,0,90.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(44,3,0,1,NULL,'good',NULL,NULL);
INSERT INTO node_values VALUES(45,3,0,2,NULL,NULL,0,NULL);
INSERT INTO node_values VALUES(46,3,0,3,NULL,'North',NULL,NULL);
INSERT INTO node_values VALUES(47,3,0,4,2.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(48,3,0,5,25.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(49,3,0,6,5.5999999999999996447,NULL,NULL,NULL);
INSERT INTO node_values VALUES(50,3,0,7,NULL,'top_band',NULL,NULL);
INSERT INTO node_values VALUES(51,3,1,0,40.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(52,3,1,1,NULL,'inadequate',NULL,NULL);
INSERT INTO node_values VALUES(53,3,1,2,NULL,NULL,1,NULL);
INSERT INTO node_values VALUES(54,3,1,3,NULL,'South',NULL,NULL);
INSERT INTO node_values VALUES(55,3,1,4,0.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(56,3,1,5,25.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(57,3,1,6,1.6000000000000000888,NULL,NULL,NULL);
INSERT INTO node_values VALUES(58,3,1,7,NULL,'bottom',NULL,NULL);
INSERT INTO node_values VALUES(59,3,2,0,75.500000000000000001,NULL,NULL,NULL);
INSERT INTO node_values VALUES(60,3,2,1,NULL,'outstanding',NULL,NULL);
INSERT INTO node_values VALUES(61,3,2,2,NULL,NULL,0,NULL);
INSERT INTO node_values VALUES(62,3,2,3,NULL,'North',NULL,NULL);
INSERT INTO node_values VALUES(63,3,2,4,3.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(64,3,2,5,25.0,NULL,NULL,NULL);
INSERT INTO node_values VALUES(65,3,2,6,6.0199999999999995736,NULL,NULL,NULL);
INSERT INTO node_values VALUES(66,3,2,7,NULL,'top_band',NULL,NULL);
CREATE TABLE scalars (
    run      INTEGER NOT NULL REFERENCES runs(id),
    node     TEXT NOT NULL,
    position INTEGER NOT NULL,
    name     TEXT NOT NULL,
    value    REAL,
    text     TEXT,
    PRIMARY KEY (run, node, name)
);
INSERT INTO scalars VALUES(1,'overall',0,'top_band.threshold',5.0,NULL);
INSERT INTO scalars VALUES(1,'overall',1,'middle.threshold',2.0,NULL);
INSERT INTO scalars VALUES(2,'overall',0,'top_band.threshold',4.0,NULL);
INSERT INTO scalars VALUES(2,'overall',1,'middle.threshold',2.0,NULL);
INSERT INTO scalars VALUES(3,'d',0,'value',25.0,NULL);
INSERT INTO scalars VALUES(3,'overall',0,'top_band.threshold',5.0,NULL);
INSERT INTO scalars VALUES(3,'overall',1,'middle.threshold',2.0,NULL);
CREATE TABLE tier_steps (
    run           INTEGER NOT NULL,
    tier          TEXT NOT NULL,
    entity        INTEGER NOT NULL,
    from_value    REAL,
    rule_index    INTEGER NOT NULL,
    before_limits TEXT,
    after         TEXT NOT NULL,
    limits_acted  TEXT NOT NULL,
    display       TEXT,
    PRIMARY KEY (run, tier, entity)
) WITHOUT ROWID;
INSERT INTO tier_steps VALUES(1,'overall',0,5.5999999999999996447,0,'top_band','["top_band"]','[]','top_band');
INSERT INTO tier_steps VALUES(1,'overall',1,1.6000000000000000888,2,'bottom','["bottom"]','[]','bottom');
INSERT INTO tier_steps VALUES(1,'overall',2,6.0199999999999995736,0,'top_band','["top_band"]','[]','top_band');
INSERT INTO tier_steps VALUES(2,'overall',0,5.5999999999999996447,0,'top_band','["top_band"]','[]','top_band');
INSERT INTO tier_steps VALUES(2,'overall',1,1.6000000000000000888,2,'bottom','["bottom"]','[]','bottom');
INSERT INTO tier_steps VALUES(2,'overall',2,6.0199999999999995736,0,'top_band','["top_band"]','[]','top_band');
INSERT INTO tier_steps VALUES(3,'overall',0,5.5999999999999996447,0,'top_band','["top_band"]','[]','top_band');
INSERT INTO tier_steps VALUES(3,'overall',1,1.6000000000000000888,2,'bottom','["bottom"]','[]','bottom');
INSERT INTO tier_steps VALUES(3,'overall',2,6.0199999999999995736,0,'top_band','["top_band"]','[]','top_band');
CREATE TABLE comparisons (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            created      TEXT NOT NULL,
            tool_version TEXT NOT NULL,
            kind         TEXT NOT NULL,
            old_run      INTEGER NOT NULL REFERENCES runs(id),
            new_run      INTEGER NOT NULL REFERENCES runs(id),
            structural   TEXT,
            outcome      TEXT NOT NULL
        );
INSERT INTO comparisons VALUES(1,'2026-12-03T07:35:28.234Z','0.1.0','methodologies',1,2,'{"old": {"name": "Bad inputs: base", "version": "1", "path": "base.tier", "files": ["base.tier"]}, "new": {"name": "Bad inputs: base", "version": "1", "path": "base2.tier", "files": ["base2.tier"]}, "extends": false, "overrides": [], "counts": {"added": 0, "removed": 0, "changed": 1, "semantic": 1}, "changes": [{"section": "tiers", "name": "overall", "kind": "tier", "change": "changed", "semantic": true, "summary": "tier overall: rule top_band: >= 5 → >= 4", "cause": "overall: rule top_band: >= 5 → >= 4", "details": [{"what": "rule", "item": "top_band", "change": "changed", "old": ">= 5", "new": ">= 4", "old_value": 5.0, "new_value": 4.0}], "old_expression": "total", "new_expression": "total", "old_source": "tier overall \"Overall\" from total {\n  top_band: >= 5\n  middle:   >= 2\n  bottom:   otherwise\n}", "new_source": "tier overall \"Overall\" from total {\n  top_band: >= 4\n  middle:   >= 2\n  bottom:   otherwise\n}", "file": "base2.tier", "line": 16, "override": null}]}','{"old": {"run": 1, "methodology": {"name": "Bad inputs: base", "version": "1", "path": "base.tier", "sha256": "8fa85832f277f8a1e3edf2515ddaf467d0911d6e4be6c87a5ea34061448578b3"}, "dataset": {"path": "good.csv", "sha256": "2212b0b847452d580ab066ffbfe72605e99e6901ffa1803bbeb5f98a5a1321a2"}, "params": {}, "entities": 3}, "new": {"run": 2, "methodology": {"name": "Bad inputs: base", "version": "1", "path": "base2.tier", "sha256": "6871ed11ab271e96e8ef7cdacc59958ef631dc7e6dcb9bd0a50b9f3b2fd3525d"}, "dataset": {"path": "good.csv", "sha256": "2212b0b847452d580ab066ffbfe72605e99e6901ffa1803bbeb5f98a5a1321a2"}, "params": {}, "entities": 3}, "tier": {"old": "overall", "new": "overall"}, "entities": {"common": 3, "only_old": [], "only_new": []}, "transitions": {"rows": ["top_band", "middle", "bottom"], "columns": ["top_band", "middle", "bottom"], "counts": [[2, 0, 0], [0, 0, 0], [0, 0, 1]]}, "moved": {"up": 0, "down": 0, "other": 0, "unchanged": 3, "share_up": 0.0, "share_down": 0.0, "share_moved": 0.0}, "rank_correlation": {"spearman": 1.0, "kendall_tau_b": 1.0, "n": 3}, "params": [], "movers": []}');
INSERT INTO comparisons VALUES(2,'2026-12-03T07:35:31.358Z','0.1.0','runs',2,1,'{"old": {"name": "Bad inputs: base", "version": "1", "path": "base2.tier", "files": ["base2.tier"]}, "new": {"name": "Bad inputs: base", "version": "1", "path": "base.tier", "files": ["base.tier"]}, "extends": false, "overrides": [], "counts": {"added": 0, "removed": 0, "changed": 1, "semantic": 1}, "changes": [{"section": "tiers", "name": "overall", "kind": "tier", "change": "changed", "semantic": true, "summary": "tier overall: rule top_band: >= 4 → >= 5", "cause": "overall: rule top_band: >= 4 → >= 5", "details": [{"what": "rule", "item": "top_band", "change": "changed", "old": ">= 4", "new": ">= 5", "old_value": 4.0, "new_value": 5.0}], "old_expression": "total", "new_expression": "total", "old_source": "tier overall \"Overall\" from total {\n  top_band: >= 4\n  middle:   >= 2\n  bottom:   otherwise\n}", "new_source": "tier overall \"Overall\" from total {\n  top_band: >= 5\n  middle:   >= 2\n  bottom:   otherwise\n}", "file": "base.tier", "line": 16, "override": null}]}','{"old": {"run": 2, "methodology": {"name": "Bad inputs: base", "version": "1", "path": "base2.tier", "sha256": "6871ed11ab271e96e8ef7cdacc59958ef631dc7e6dcb9bd0a50b9f3b2fd3525d"}, "dataset": {"path": "good.csv", "sha256": "2212b0b847452d580ab066ffbfe72605e99e6901ffa1803bbeb5f98a5a1321a2"}, "params": {}, "entities": 3}, "new": {"run": 1, "methodology": {"name": "Bad inputs: base", "version": "1", "path": "base.tier", "sha256": "8fa85832f277f8a1e3edf2515ddaf467d0911d6e4be6c87a5ea34061448578b3"}, "dataset": {"path": "good.csv", "sha256": "2212b0b847452d580ab066ffbfe72605e99e6901ffa1803bbeb5f98a5a1321a2"}, "params": {}, "entities": 3}, "tier": {"old": "overall", "new": "overall"}, "entities": {"common": 3, "only_old": [], "only_new": []}, "transitions": {"rows": ["top_band", "middle", "bottom"], "columns": ["top_band", "middle", "bottom"], "counts": [[2, 0, 0], [0, 0, 0], [0, 0, 1]]}, "moved": {"up": 0, "down": 0, "other": 0, "unchanged": 3, "share_up": 0.0, "share_down": 0.0, "share_moved": 0.0}, "rank_correlation": {"spearman": 1.0, "kendall_tau_b": 1.0, "n": 3}, "params": [], "movers": []}');
CREATE TABLE analyses (
            id                  INTEGER PRIMARY KEY AUTOINCREMENT,
            created             TEXT NOT NULL,
            tool_version        TEXT NOT NULL,
            run                 INTEGER NOT NULL REFERENCES runs(id),
            kind                TEXT NOT NULL,
            methodology_sha256  TEXT NOT NULL,
            dataset_sha256      TEXT,
            tier                TEXT NOT NULL,
            spec                TEXT NOT NULL,
            seed                INTEGER NOT NULL,
            samples             INTEGER NOT NULL,
            evaluations         INTEGER NOT NULL,
            summary             TEXT NOT NULL
        );
INSERT INTO analyses VALUES(1,'2026-12-03T07:35:29.973Z','0.1.0',3,'sensitivity','e3f5ccc8f5803ee84a94512710581e502d53e1cdf77a9689c4f4fe872af5fbdf','2212b0b847452d580ab066ffbfe72605e99e6901ffa1803bbeb5f98a5a1321a2','overall','{"kind": "sensitivity", "tier": "overall", "score": "total", "samples": 20, "base_samples": 10, "evaluations": 40, "seed": 1, "design": "Saltelli 2010 (A, B, AB_i) with one-at-a-time rows OAT_i", "estimators": {"first_order": "Saltelli 2010", "total_order": "Jansen 1999"}, "choices": [{"name": "d", "kind": "param", "distribution": "uniform 20..30", "declared": "25"}], "weights": null, "drop_one": false, "stable_share": 0.9, "rank_interval": [0.05, 0.95], "notes": [], "tool_version": "0.1.0"}',1,20,40,'{"entities": 3, "stable": 3, "stable_share": 1.0, "mean_abs_rank_shift": 0.0, "most_important": "d", "seconds": 0.036}');
CREATE TABLE analysis_entities (
            analysis        INTEGER NOT NULL REFERENCES analyses(id),
            position        INTEGER NOT NULL,
            key             TEXT NOT NULL,
            nominal_tier    TEXT,
            nominal_rank    INTEGER,
            probabilities   TEXT NOT NULL,
            held            REAL NOT NULL,
            median_rank     REAL,
            rank_low        REAL,
            rank_high       REAL,
            stable          INTEGER NOT NULL,
            most_sensitive  TEXT,
            PRIMARY KEY (analysis, key)
        ) WITHOUT ROWID;
INSERT INTO analysis_entities VALUES(1,1,'A1','top_band',2,'{"top_band": 1.0, "middle": 0.0, "bottom": 0.0}',1.0,2.0,2.0,2.0,1,'d');
INSERT INTO analysis_entities VALUES(1,2,'B2','bottom',3,'{"top_band": 0.0, "middle": 0.0, "bottom": 1.0}',1.0,3.0,3.0,3.0,1,'d');
INSERT INTO analysis_entities VALUES(1,0,'C3','top_band',1,'{"top_band": 1.0, "middle": 0.0, "bottom": 0.0}',1.0,1.0,1.0,1.0,1,'d');
CREATE TABLE analysis_choices (
            analysis            INTEGER NOT NULL REFERENCES analyses(id),
            position            INTEGER NOT NULL,
            choice              TEXT NOT NULL,
            kind                TEXT NOT NULL,
            rank                INTEGER,
            first_order_index   REAL,
            total_order_index   REAL,
            first_order_tier    REAL,
            total_order_tier    REAL,
            tier_change_share   REAL,
            detail              TEXT,
            PRIMARY KEY (analysis, choice)
        ) WITHOUT ROWID;
INSERT INTO analysis_choices VALUES(1,0,'d','param',1,0.42058001331002520251,0.66248914892679378052,NULL,NULL,0.0,'{"distribution": "uniform 20..30", "declared": "25"}');
CREATE TABLE levels (
    run               INTEGER NOT NULL REFERENCES runs(id),
    position          INTEGER NOT NULL,
    name              TEXT NOT NULL,
    parent            TEXT NOT NULL,
    key_column        TEXT,
    label_column      TEXT,
    member_count      INTEGER NOT NULL,
    first_node        INTEGER NOT NULL,
    values_per_member INTEGER NOT NULL,
    first_value_id    INTEGER,
    PRIMARY KEY (run, position)
) WITHOUT ROWID;
CREATE TABLE members (
    run        INTEGER NOT NULL REFERENCES runs(id),
    level      TEXT NOT NULL,
    position   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    label      TEXT,
    parent_key TEXT,
    PRIMARY KEY (run, level, position)
) WITHOUT ROWID;
CREATE TABLE member_values (
    id             INTEGER PRIMARY KEY,
    run            INTEGER NOT NULL,
    level          INTEGER NOT NULL,
    member         INTEGER NOT NULL,
    node           INTEGER NOT NULL,
    num            REAL,
    text           TEXT,
    bool           INTEGER,
    missing_reason TEXT
);
CREATE TABLE member_tier_steps (
    run           INTEGER NOT NULL,
    level         TEXT NOT NULL,
    tier          TEXT NOT NULL,
    member        INTEGER NOT NULL,
    from_value    REAL,
    rule_index    INTEGER NOT NULL,
    before_limits TEXT,
    after         TEXT NOT NULL,
    limits_acted  TEXT NOT NULL,
    display       TEXT,
    PRIMARY KEY (run, tier, member)
) WITHOUT ROWID;
CREATE TABLE node_components (
    run          INTEGER NOT NULL,
    node         TEXT NOT NULL,
    entities     INTEGER NOT NULL,
    components   TEXT NOT NULL,
    value        BLOB NOT NULL,
    weight       BLOB NOT NULL,
    coefficient  BLOB NOT NULL,
    contribution BLOB NOT NULL,
    PRIMARY KEY (run, node)
) WITHOUT ROWID;
INSERT INTO node_components VALUES(1,'total',3,'["score / 25", "base_points"]',X'cdcccccccccc0c4000000000000000409a9999999999f93f0000000000000000295c8fc2f52808400000000000000840',X'000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f',X'000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f',X'cdcccccccccc0c4000000000000000409a9999999999f93f0000000000000000295c8fc2f52808400000000000000840');
INSERT INTO node_components VALUES(2,'total',3,'["score / 25", "base_points"]',X'cdcccccccccc0c4000000000000000409a9999999999f93f0000000000000000295c8fc2f52808400000000000000840',X'000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f',X'000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f',X'cdcccccccccc0c4000000000000000409a9999999999f93f0000000000000000295c8fc2f52808400000000000000840');
INSERT INTO node_components VALUES(3,'total',3,'["score / d", "base_points"]',X'cdcccccccccc0c4000000000000000409a9999999999f93f0000000000000000295c8fc2f52808400000000000000840',X'000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f',X'000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f000000000000f03f',X'cdcccccccccc0c4000000000000000409a9999999999f93f0000000000000000295c8fc2f52808400000000000000840');
CREATE TABLE entity_ranks (
    run              INTEGER NOT NULL,
    tier             TEXT NOT NULL,
    entity           INTEGER NOT NULL,
    rank             INTEGER,
    from_rank_top    INTEGER,
    from_rank_bottom INTEGER,
    PRIMARY KEY (run, tier, entity)
) WITHOUT ROWID;
INSERT INTO entity_ranks VALUES(1,'overall',0,2,2,2);
INSERT INTO entity_ranks VALUES(1,'overall',1,3,3,1);
INSERT INTO entity_ranks VALUES(1,'overall',2,1,1,3);
INSERT INTO entity_ranks VALUES(2,'overall',0,2,2,2);
INSERT INTO entity_ranks VALUES(2,'overall',1,3,3,1);
INSERT INTO entity_ranks VALUES(2,'overall',2,1,1,3);
INSERT INTO entity_ranks VALUES(3,'overall',0,2,2,2);
INSERT INTO entity_ranks VALUES(3,'overall',1,3,3,1);
INSERT INTO entity_ranks VALUES(3,'overall',2,1,1,3);
CREATE TABLE node_branches (
    run         INTEGER NOT NULL,
    node        TEXT NOT NULL,
    entity      INTEGER NOT NULL,
    taken       TEXT,
    op          TEXT,
    left_value  REAL,
    right_value REAL,
    PRIMARY KEY (run, node, entity)
) WITHOUT ROWID;
CREATE TABLE node_statistics (
    run      INTEGER NOT NULL,
    node     TEXT NOT NULL,
    key      TEXT NOT NULL,
    shown    TEXT NOT NULL,
    name     TEXT NOT NULL,
    item     INTEGER,
    grp      TEXT,
    call     TEXT,
    prefix   TEXT,
    rule     TEXT,
    PRIMARY KEY (run, node, key)
) WITHOUT ROWID
;
INSERT INTO node_statistics VALUES(1,'overall','middle.threshold','middle.threshold','threshold',NULL,NULL,NULL,NULL,'middle');
INSERT INTO node_statistics VALUES(1,'overall','top_band.threshold','top_band.threshold','threshold',NULL,NULL,NULL,NULL,'top_band');
INSERT INTO node_statistics VALUES(2,'overall','middle.threshold','middle.threshold','threshold',NULL,NULL,NULL,NULL,'middle');
INSERT INTO node_statistics VALUES(2,'overall','top_band.threshold','top_band.threshold','threshold',NULL,NULL,NULL,NULL,'top_band');
INSERT INTO node_statistics VALUES(3,'overall','middle.threshold','middle.threshold','threshold',NULL,NULL,NULL,NULL,'middle');
INSERT INTO node_statistics VALUES(3,'overall','top_band.threshold','top_band.threshold','threshold',NULL,NULL,NULL,NULL,'top_band');
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('runs',3);
INSERT INTO sqlite_sequence VALUES('comparisons',2);
INSERT INTO sqlite_sequence VALUES('analyses',1);
CREATE UNIQUE INDEX entities_run_key ON entities(run, key);
CREATE INDEX entities_run_label ON entities(run, label);
CREATE UNIQUE INDEX nodes_run_position ON nodes(run, position);
CREATE VIEW named_values AS
SELECT e.run AS run, e.key AS entity_key, e.label AS entity_label, n.name AS node, n.kind,
       n.label AS node_label, v.num, v.text, v.bool, v.missing_reason,
       e.position AS entity_position, v.node AS node_position, v.id AS value_id
FROM entities e
CROSS JOIN runs r
CROSS JOIN node_values v
CROSS JOIN nodes n
WHERE r.id = e.run
  AND v.id BETWEEN r.first_value_id + e.position * r.values_per_entity
               AND r.first_value_id + (e.position + 1) * r.values_per_entity - 1
  AND n.run = e.run AND n.position = v.node;
CREATE VIEW named_tier_steps AS
SELECT t.run, t.tier, e.key AS entity_key, e.label AS entity_label, t.from_value, t.rule_index,
       t.before_limits, t.after, t.limits_acted, t.display, t.entity AS entity_position
FROM tier_steps t
JOIN entities e ON e.run = t.run AND e.position = t.entity;
CREATE INDEX comparisons_runs ON comparisons(old_run, new_run);
CREATE INDEX analyses_run ON analyses(run);
CREATE UNIQUE INDEX levels_run_name ON levels(run, name);
CREATE UNIQUE INDEX members_run_key ON members(run, level, key);
CREATE INDEX members_run_label ON members(run, label);
CREATE INDEX members_run_parent ON members(run, level, parent_key);
CREATE VIEW named_member_values AS
SELECT m.run AS run, m.level AS level, m.key AS member_key, m.label AS member_label,
       m.parent_key AS parent_key, n.name AS node, n.kind, n.label AS node_label, v.num, v.text,
       v.bool, v.missing_reason, m.position AS member_position, v.node AS node_position,
       v.id AS value_id
FROM members m
CROSS JOIN levels l
CROSS JOIN member_values v
CROSS JOIN nodes n
WHERE l.run = m.run AND l.name = m.level
  AND v.id BETWEEN l.first_value_id + m.position * l.values_per_member
               AND l.first_value_id + (m.position + 1) * l.values_per_member - 1
  AND n.run = m.run AND n.position = v.node;
CREATE VIEW named_member_tier_steps AS
SELECT t.run, t.level, t.tier, m.key AS member_key, m.label AS member_label,
       m.parent_key AS parent_key, t.from_value, t.rule_index, t.before_limits, t.after,
       t.limits_acted, t.display, t.member AS member_position
FROM member_tier_steps t
JOIN members m ON m.run = t.run AND m.level = t.level AND m.position = t.member;
COMMIT;
