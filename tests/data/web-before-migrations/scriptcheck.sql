BEGIN TRANSACTION;
CREATE TABLE access_grants (
	id INTEGER NOT NULL, 
	session_id INTEGER NOT NULL, 
	recording_id INTEGER NOT NULL, 
	purpose TEXT NOT NULL, 
	approver VARCHAR(128) NOT NULL, 
	unmasked BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(session_id) REFERENCES sessions (id), 
	FOREIGN KEY(recording_id) REFERENCES recordings (id)
);
CREATE TABLE access_log (
	id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	ts VARCHAR(32) NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	recording_id INTEGER, 
	target TEXT NOT NULL, 
	purpose TEXT NOT NULL, 
	detail TEXT NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (seq)
);
INSERT INTO "access_log" VALUES(1,1,'2026-12-03T16:43:25.993393Z','rev','reviewer','login',NULL,'','','迁移前 0','0000000000000000000000000000000000000000000000000000000000000000','aa97e75da31859f983ddc3601ebcb807b22dbcae551ebb8d9cf3ccdf7989ee48');
INSERT INTO "access_log" VALUES(2,2,'2026-12-03T16:43:26.014486Z','rev','reviewer','view',1,'','','迁移前 1','aa97e75da31859f983ddc3601ebcb807b22dbcae551ebb8d9cf3ccdf7989ee48','400a39b0efa3dce381b19826515ee2f3f1ba9e702b9f61848bcda4f48fd9938f');
INSERT INTO "access_log" VALUES(3,3,'2026-12-03T16:43:26.029639Z','rev','reviewer','play',1,'','','迁移前 2','400a39b0efa3dce381b19826515ee2f3f1ba9e702b9f61848bcda4f48fd9938f','c32ceb3196587ce183fbe7988ebc31b1d703dc27b6037554dca5d3f580815006');
INSERT INTO "access_log" VALUES(4,4,'2026-12-03T16:43:26.037710Z','rev','reviewer','decision',1,'','','迁移前 3','c32ceb3196587ce183fbe7988ebc31b1d703dc27b6037554dca5d3f580815006','c46f0c16a05ac07a0bd5a9ac2c1f69490d127235d05217e3abd0dae58aedfca2');
INSERT INTO "access_log" VALUES(5,5,'2026-12-03T16:43:26.045809Z','rev','reviewer','export',1,'','','迁移前 4','c46f0c16a05ac07a0bd5a9ac2c1f69490d127235d05217e3abd0dae58aedfca2','a9cd100eba3d4a8fb8e8ed0105d06192673b5668b61a10c9995ea8470b13d519');
CREATE TABLE access_log_head (
	id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "access_log_head" VALUES(1,5,'d10fd02eef78ad37923d12f58b1e00803e7794913b520c14d59cef979be26965');
CREATE TABLE decisions (
	id INTEGER NOT NULL, 
	recording_id INTEGER NOT NULL, 
	finding_key VARCHAR(128) NOT NULL, 
	action VARCHAR(16) NOT NULL, 
	comment TEXT NOT NULL, 
	reviewer_id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(recording_id) REFERENCES recordings (id), 
	FOREIGN KEY(reviewer_id) REFERENCES users (id)
);
INSERT INTO "decisions" VALUES(1,1,'gap:20.0','override','设备故障',2,'2026-12-03 16:43:25.984682');
CREATE TABLE devices (
	device_id VARCHAR(64) NOT NULL, 
	officer_id INTEGER NOT NULL, 
	PRIMARY KEY (device_id), 
	FOREIGN KEY(officer_id) REFERENCES officers (id)
);
CREATE TABLE explanations (
	id INTEGER NOT NULL, 
	recording_id INTEGER NOT NULL, 
	finding_key VARCHAR(128) NOT NULL, 
	text TEXT NOT NULL, 
	file_path TEXT NOT NULL, 
	file_name VARCHAR(255) NOT NULL, 
	file_sha256 VARCHAR(64) NOT NULL, 
	file_size INTEGER NOT NULL, 
	file_mime VARCHAR(64) NOT NULL, 
	author_id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(recording_id) REFERENCES recordings (id), 
	FOREIGN KEY(author_id) REFERENCES users (id)
);
CREATE TABLE finding_results (
	id INTEGER NOT NULL, 
	recording_id INTEGER NOT NULL, 
	finding_key VARCHAR(128) NOT NULL, 
	code VARCHAR(64) NOT NULL, 
	phrase_id VARCHAR(64) NOT NULL, 
	decided BOOLEAN NOT NULL, 
	overridden BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(recording_id) REFERENCES recordings (id)
);
CREATE TABLE login_attempts (
	kind VARCHAR(8) NOT NULL, 
	"key" VARCHAR(255) NOT NULL, 
	count INTEGER NOT NULL, 
	window_start DATETIME NOT NULL, 
	PRIMARY KEY (kind, "key")
);
CREATE TABLE media_files (
	id INTEGER NOT NULL, 
	recording_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	stored_path TEXT NOT NULL, 
	original_name VARCHAR(255) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	mime VARCHAR(64) NOT NULL, 
	uploaded BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(recording_id) REFERENCES recordings (id)
);
INSERT INTO "media_files" VALUES(1,1,0,'@DATA@/originals/5e/5eca19dd6c6dead98dfa2fc00c8c7790bbc100f87d1f5720ff4828c7ab66e912/x.wav','x.wav','5eca19dd6c6dead98dfa2fc00c8c7790bbc100f87d1f5720ff4828c7ab66e912',964,'application/octet-stream',1);
CREATE TABLE officers (
	id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	badge_no VARCHAR(32) NOT NULL, 
	unit VARCHAR(128) NOT NULL, 
	user_id INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (user_id), 
	FOREIGN KEY(user_id) REFERENCES users (id)
);
CREATE TABLE phrase_results (
	id INTEGER NOT NULL, 
	recording_id INTEGER NOT NULL, 
	phrase_id VARCHAR(64) NOT NULL, 
	title VARCHAR(128) NOT NULL, 
	required BOOLEAN NOT NULL, 
	status VARCHAR(8) NOT NULL, 
	final_status VARCHAR(8) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(recording_id) REFERENCES recordings (id)
);
CREATE TABLE record_metadata (
	recording_id INTEGER NOT NULL, 
	case_name TEXT NOT NULL, 
	party TEXT NOT NULL, 
	recorder VARCHAR(128) NOT NULL, 
	badge_no VARCHAR(64) NOT NULL, 
	recorded_time VARCHAR(32) NOT NULL, 
	stored_time VARCHAR(32) NOT NULL, 
	place TEXT NOT NULL, 
	sources_json TEXT NOT NULL, 
	captured_at DATETIME, 
	capture_source VARCHAR(32) NOT NULL, 
	stored_at DATETIME NOT NULL, 
	stored_late BOOLEAN NOT NULL, 
	prefilled INTEGER NOT NULL, 
	closed_at DATETIME, 
	closed_by VARCHAR(64) NOT NULL, 
	PRIMARY KEY (recording_id), 
	FOREIGN KEY(recording_id) REFERENCES recordings (id)
);
CREATE TABLE recording_meta (
	recording_id INTEGER NOT NULL, 
	device_id VARCHAR(64) NOT NULL, 
	officer_id INTEGER, 
	unit VARCHAR(128) NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	month VARCHAR(7) NOT NULL, 
	"indexed" INTEGER NOT NULL, 
	opening_missing INTEGER NOT NULL, 
	unexplained_gap INTEGER NOT NULL, 
	undecided INTEGER NOT NULL, 
	decided INTEGER NOT NULL, 
	PRIMARY KEY (recording_id), 
	FOREIGN KEY(recording_id) REFERENCES recordings (id), 
	FOREIGN KEY(officer_id) REFERENCES officers (id)
);
CREATE TABLE recordings (
	id INTEGER NOT NULL, 
	title VARCHAR(255) NOT NULL, 
	is_case BOOLEAN NOT NULL, 
	guide VARCHAR(255) NOT NULL, 
	profile VARCHAR(64) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	progress FLOAT NOT NULL, 
	stage VARCHAR(128) NOT NULL, 
	error TEXT NOT NULL, 
	duration_s FLOAT, 
	score FLOAT, 
	final_score FLOAT, 
	flags_json TEXT NOT NULL, 
	result_dir TEXT NOT NULL, 
	integrity_alarm TEXT NOT NULL, 
	created_by INTEGER, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(created_by) REFERENCES users (id)
);
INSERT INTO "recordings" VALUES(1,'迁移前的录像',0,'','','done',1.0,'完成','',NULL,80.0,85.0,'["gap"]','','',1,'2026-12-03 16:43:25.966425',NULL,NULL);
CREATE TABLE retention (
	recording_id INTEGER NOT NULL, 
	retention_class VARCHAR(64) NOT NULL, 
	legal_hold BOOLEAN NOT NULL, 
	hold_reason TEXT NOT NULL, 
	updated_by VARCHAR(64) NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (recording_id), 
	FOREIGN KEY(recording_id) REFERENCES recordings (id)
);
CREATE TABLE sessions (
	id INTEGER NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	user_id INTEGER NOT NULL, 
	csrf_token VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	last_seen DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id)
);
CREATE TABLE settings (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "settings" VALUES('audit_keyed_from','1:22ebc86c7935608524af8dde38840f96e11803f6ac8ee07794d272a6894c3590');
CREATE TABLE tombstones (
	id INTEGER NOT NULL, 
	recording_id INTEGER NOT NULL, 
	title VARCHAR(255) NOT NULL, 
	retention_class VARCHAR(64) NOT NULL, 
	stored_at DATETIME NOT NULL, 
	files_json TEXT NOT NULL, 
	deleted_by VARCHAR(64) NOT NULL, 
	deleted_at DATETIME NOT NULL, 
	reason TEXT NOT NULL, 
	detail TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE training_jobs (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	target VARCHAR(64) NOT NULL, 
	guide VARCHAR(255) NOT NULL, 
	audio_path TEXT NOT NULL, 
	audio_name VARCHAR(255) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	error TEXT NOT NULL, 
	attempt_id INTEGER, 
	created_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id)
);
CREATE TABLE users (
	id INTEGER NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	display_name VARCHAR(128) NOT NULL, 
	password_hash VARCHAR(255) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "users" VALUES(1,'chief','老管理员','$argon2id$v=19$m=65536,t=3,p=4$K6ZXhC7SmEi62oUGWy3l6A$+HlJaZ5shptUUWsJmfzM1W7PtJUqXkgzWJ5bsF6spJM','admin',1,'2026-12-03 16:43:25.945207');
INSERT INTO "users" VALUES(2,'rev','审阅人乙','$argon2id$v=19$m=65536,t=3,p=4$aEy4Az/BkTqS0gENs2P6QQ$I5rVev09KOZt3p1rdn89izhlhNrcoMw3yNarLegSsXk','reviewer',1,'2026-12-03 16:43:25.945223');
CREATE UNIQUE INDEX ix_users_username ON users (username);
CREATE INDEX ix_tombstones_recording_id ON tombstones (recording_id);
CREATE INDEX ix_login_attempts_window_start ON login_attempts (window_start);
CREATE UNIQUE INDEX ix_sessions_token_hash ON sessions (token_hash);
CREATE INDEX ix_training_jobs_user_id ON training_jobs (user_id);
CREATE INDEX ix_officers_badge_no ON officers (badge_no);
CREATE INDEX ix_officers_unit ON officers (unit);
CREATE INDEX ix_media_files_recording_id ON media_files (recording_id);
CREATE INDEX ix_decisions_recording_id ON decisions (recording_id);
CREATE INDEX ix_explanations_recording_id ON explanations (recording_id);
CREATE INDEX ix_access_grants_session_id ON access_grants (session_id);
CREATE INDEX ix_access_grants_recording_id ON access_grants (recording_id);
CREATE INDEX ix_devices_officer_id ON devices (officer_id);
CREATE INDEX ix_meta_unit_recorded ON recording_meta (unit, recorded_at);
CREATE INDEX ix_recording_meta_device_id ON recording_meta (device_id);
CREATE INDEX ix_meta_officer_recorded ON recording_meta (officer_id, recorded_at);
CREATE INDEX ix_meta_month ON recording_meta (month, unit);
CREATE INDEX ix_meta_recorded_at ON recording_meta (recorded_at);
CREATE INDEX ix_phrase_results_rec ON phrase_results (recording_id, required, phrase_id, final_status);
CREATE INDEX ix_phrase_results_phrase ON phrase_results (phrase_id, final_status);
CREATE INDEX ix_finding_results_rec ON finding_results (recording_id, overridden, code, decided);
CREATE INDEX ix_finding_results_code ON finding_results (code, overridden);
COMMIT;
