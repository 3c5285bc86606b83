package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"wallets/internal/api"
	"wallets/internal/apperr"
	"wallets/internal/auth"
	"wallets/internal/money"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

var (
	walletParams = map[string]string{"uuid": walletID.String()}
	chargeParams = map[string]string{"uuid": chargeID.String()}
)

// charge is a transaction the fakes answer with.
func charge(status wallet.Status) wallet.Transaction {
	b := businessID
	return wallet.Transaction{UUID: chargeID, Amount: 1500, Description: "Compra auriculares", Status: status,
		Type: wallet.DebitType, BusinessID: &b, WalletID: walletID, Created: created}
}

func chargeJSON(status int) string {
	return fmt.Sprintf(`{"uuid":"%s","amount":"15.00","description":"Compra auriculares","status":%d,"type":2,"business":9,"wallet":"%s","created_date":"%s"}`,
		chargeID, status, walletID, createdJSON)
}

// TestEdgeResults checks the success answers: status, body and headers.
func TestEdgeResults(t *testing.T) {
	t.Run("deposit 200 with the wallet", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		e.wallets.DepositFn = func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, desc string) (wallet.Wallet, error) {
			calls.inc()
			if owner != customerID || id != walletID || amount != 1250 || desc != "cash" {
				t.Errorf("Deposit(%d, %s, %d, %q)", owner, id, amount, desc)
			}
			return customerWallet(amount), nil
		}
		resp := e.do(req{fn: "wallets-deposit", params: walletParams, caller: customer(customerID),
			body: `{"amount":"12.50","description":"cash"}`})
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, walletJSON("12.50"))
		if calls.get() != 1 {
			t.Errorf("Deposit called %d times", calls.get())
		}
	})

	t.Run("deposit by PATCH, form-encoded, number amount", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.DepositFn = func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, desc string) (wallet.Wallet, error) {
			if amount != 1010 || desc != "a b" {
				t.Errorf("Deposit amount %d, description %q", amount, desc)
			}
			return customerWallet(amount), nil
		}
		resp := e.do(req{fn: "wallets-deposit", method: http.MethodPatch, params: walletParams, caller: customer(customerID),
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "amount=10.10&description=a+b"})
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, walletJSON("10.10"))
	})

	t.Run("retire 200", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.WithdrawFn = func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, desc string) (wallet.Wallet, error) {
			if amount != -15000 {
				t.Errorf("Withdraw amount %d, want -15000", amount)
			}
			return customerWallet(5000), nil
		}
		resp := e.do(req{fn: "wallets-retire", params: walletParams, caller: customer(customerID), body: `{"amount":-150}`})
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, walletJSON("50.00"))
	})

	t.Run("open wallet 201", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.OpenWalletFn = func(ctx context.Context, owner int64) (wallet.Wallet, error) {
			if owner != customerID {
				t.Errorf("OpenWallet(%d)", owner)
			}
			return customerWallet(0), nil
		}
		resp := e.do(req{fn: "wallets-create", caller: customer(customerID)})
		checkStatus(t, resp, http.StatusCreated)
		checkBody(t, resp, walletJSON("0.00"))
	})

	t.Run("get wallet 200", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.WalletFn = func(ctx context.Context, owner int64, id uuid.UUID) (wallet.Wallet, error) {
			w, err := ownWallet(ctx, owner, id)
			w.Balance = -15000 // shown with its sign
			return w, err
		}
		resp := e.do(req{fn: "wallets-get", params: walletParams, caller: customer(customerID)})
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, walletJSON("-150.00"))
	})

	t.Run("open charge 201", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.ActiveBusinessFn = func(ctx context.Context, id int64) (wallet.Business, error) {
			return wallet.Business{ID: id, Name: "Media Market"}, nil
		}
		e.wallets.OpenChargeFn = func(ctx context.Context, cust, biz int64, w uuid.UUID, amount money.Amount, desc string) (wallet.Transaction, error) {
			if cust != customerID || biz != businessID || w != walletID || amount != 1500 || desc != "Compra auriculares" {
				t.Errorf("OpenCharge(%d, %d, %s, %d, %q)", cust, biz, w, amount, desc)
			}
			return charge(wallet.Pending), nil
		}
		resp := e.do(req{fn: "charges-create", params: map[string]string{"business_id": "9"}, caller: customer(customerID),
			body: `{"amount":"15.00","description":"Compra auriculares","wallet":"` + walletID.String() + `"}`})
		checkStatus(t, resp, http.StatusCreated)
		checkBody(t, resp, chargeJSON(1))
	})

	t.Run("collect 200 with the transaction", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.CollectFn = func(ctx context.Context, biz int64, id uuid.UUID) (wallet.Transaction, error) {
			if biz != businessID || id != chargeID {
				t.Errorf("Collect(%d, %s)", biz, id)
			}
			return charge(wallet.Accepted), nil
		}
		resp := e.do(req{fn: "business-debit", params: chargeParams, caller: business(businessID)})
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, chargeJSON(2))
	})

	t.Run("sign-up 201", func(t *testing.T) {
		e := newEdge(t)
		e.users.SignUpFn = func(ctx context.Context, a user.NewAccount) (user.User, error) {
			want := user.NewAccount{Username: "pablo", Email: "pablo@mail.com", FirstName: "Pablo", LastName: "Moreno",
				Type: user.CustomerType, Password: "Tr0mbone-Galaxy-42", Password2: "Tr0mbone-Galaxy-42"}
			if a != want {
				t.Errorf("SignUp(%+v)", a)
			}
			return pablo(), nil
		}
		resp := e.do(req{fn: "users-sign-up", body: `{"username":" pablo ","email":"pablo@mail.com","first_name":"Pablo",` +
			`"last_name":"Moreno","password":"Tr0mbone-Galaxy-42","password2":"Tr0mbone-Galaxy-42"}`})
		checkStatus(t, resp, http.StatusCreated)
		checkBody(t, resp, pabloJSON)
		if strings.Contains(resp.Body, "argon2") {
			t.Error("the password hash leaks into the body")
		}
	})

	t.Run("sign-up of a business 201", func(t *testing.T) {
		e := newEdge(t)
		e.users.SignUpFn = func(ctx context.Context, a user.NewAccount) (user.User, error) {
			if a.Type != user.BusinessType || a.Username != "media.market" {
				t.Errorf("SignUp(%+v)", a)
			}
			return user.User{ID: businessID, Username: a.Username, Email: a.Email, Type: a.Type, IsActive: true, TokenVersion: 1}, nil
		}
		resp := e.do(req{fn: "users-sign-up", body: `{"username":"media.market","email":"shop@mail.com",` +
			`"password":"Tr0mbone-Galaxy-42","password2":"Tr0mbone-Galaxy-42","type":"2"}`})
		checkStatus(t, resp, http.StatusCreated)
		checkBody(t, resp, `{"id":9,"username":"media.market","email":"shop@mail.com","first_name":"","last_name":"","profile":{"type":2}}`)
	})

	t.Run("login 200 with token and cookie", func(t *testing.T) {
		e := newEdge(t)
		e.users.LogInFn = func(ctx context.Context, username, password, source string) (user.User, error) {
			if username != "pablo" || password != " secret pw " || source != "203.0.113.7" {
				t.Errorf("LogIn(%q, %q, %q)", username, password, source)
			}
			return pablo(), nil
		}
		// The source is API Gateway's sourceIp, never X-Forwarded-For.
		resp := e.do(req{fn: "users-login", body: `{"username":"pablo","password":" secret pw "}`,
			sourceIP: "203.0.113.7", headers: map[string]string{"X-Forwarded-For": "198.51.100.1"}})
		checkStatus(t, resp, http.StatusOK)
		var body struct {
			Token string          `json:"token"`
			User  json.RawMessage `json:"user"`
		}
		decode(t, resp.Body, &body)
		if string(body.User) != pabloJSON {
			t.Errorf("user = %s, want %s", body.User, pabloJSON)
		}
		p, err := e.tokens.Verify(context.Background(), body.Token)
		if want := (auth.Principal{UserID: customerID, Type: user.CustomerType, TokenVersion: tokenVersion}); err != nil || p != want {
			t.Errorf("token verifies as %+v, %v; want %+v", p, err, want)
		}
		c := cookies(resp)
		if len(c) != 1 {
			t.Fatalf("Set-Cookie = %q, want one cookie", c)
		}
		if want := "jwt=" + body.Token + "; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Lax"; c[0] != want {
			t.Errorf("Set-Cookie = %q\nwant         %q", c[0], want)
		}
		sc, err := http.ParseSetCookie(c[0])
		if err != nil || sc.Name != api.CookieName || sc.Value != body.Token || !sc.HttpOnly || !sc.Secure ||
			sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.MaxAge != int(auth.TokenTTL/time.Second) {
			t.Errorf("Set-Cookie parses as %+v, %v", sc, err)
		}
	})

	t.Run("logout 204 revokes the presented token and clears the cookie", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		e.users.RevokeTokensFn = func(ctx context.Context, id int64, version int) error {
			calls.inc()
			if id != customerID || version != tokenVersion {
				t.Errorf("RevokeTokens(%d, %d)", id, version)
			}
			return nil
		}
		resp := e.do(req{fn: "users-logout", caller: customer(customerID)})
		checkStatus(t, resp, http.StatusNoContent)
		checkCleared(t, resp)
		if calls.get() != 1 {
			t.Errorf("RevokeTokens called %d times", calls.get())
		}
	})

	t.Run("logout 204 anonymous", func(t *testing.T) {
		e := newEdge(t) // RevokeTokens unset: must not be called
		resp := e.do(req{fn: "users-logout"})
		checkStatus(t, resp, http.StatusNoContent)
		checkCleared(t, resp)
	})

	t.Run("change password 200", func(t *testing.T) {
		e := newEdge(t)
		e.users.ChangePasswordFn = func(ctx context.Context, id int64, c user.PasswordChange) error {
			if want := (user.PasswordChange{Old: "old pw", New: "N3w-Password-77", New2: "N3w-Password-77"}); id != customerID || c != want {
				t.Errorf("ChangePassword(%d, %+v)", id, c)
			}
			return nil
		}
		resp := e.do(req{fn: "users-change-password", caller: customer(customerID),
			body: `{"old_password":"old pw","new_password":"N3w-Password-77","new_password2":"N3w-Password-77"}`})
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, `{"detail":"Password updated successfully."}`)
	})

	t.Run("delete account 204 clears the cookie", func(t *testing.T) {
		e := newEdge(t)
		e.users.DeactivateFn = func(ctx context.Context, id int64) error {
			if id != businessID {
				t.Errorf("Deactivate(%d)", id)
			}
			return nil
		}
		resp := e.do(req{fn: "users-delete-account", caller: business(businessID)})
		checkStatus(t, resp, http.StatusNoContent)
		checkCleared(t, resp)
	})

	t.Run("me 200", func(t *testing.T) {
		e := newEdge(t)
		e.users.UserFn = func(ctx context.Context, id int64) (user.User, error) { return pablo(), nil }
		resp := e.do(req{fn: "users-me-get", caller: customer(customerID)})
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, pabloJSON)
	})
}

// checkCleared fails unless resp is a bodiless answer clearing the jwt cookie.
func checkCleared(t *testing.T, resp events.APIGatewayProxyResponse) {
	t.Helper()
	if resp.Body != "" {
		t.Errorf("body = %q, want none", resp.Body)
	}
	if ct, ok := resp.Headers["Content-Type"]; ok {
		t.Errorf("Content-Type = %q on a bodiless answer", ct)
	}
	c := cookies(resp)
	if len(c) != 1 {
		t.Fatalf("Set-Cookie = %q, want one cookie", c)
	}
	sc, err := http.ParseSetCookie(c[0])
	if err != nil || sc.Name != api.CookieName || sc.Value != "" || sc.MaxAge >= 0 || !sc.HttpOnly || !sc.Secure || sc.Path != "/" {
		t.Errorf("Set-Cookie %q parses as %+v, %v; want jwt cleared", c[0], sc, err)
	}
}

const (
	bodyNotFound    = `{"detail":"Not found."}`
	bodyFault       = `{"detail":"A server error occurred."}`
	bodyUnavailable = `{"detail":"Service temporarily unavailable, try again later."}`
	bodyForbidden   = `{"detail":"You do not have permission to perform this action."}`
	bodyNoCreds     = `{"detail":"Authentication credentials were not provided."}`
	bodyNegative    = `{"detail":"Balance can't be negative"}`
)

// unavailable is how a service reports the database out of reach.
func unavailable() error {
	return fmt.Errorf("%w: %w", apperr.ErrUnavailable, errors.New("dial tcp 10.0.0.1:5432: connect: connection refused"))
}

// edgeCase is one request on fakes and the answer expected.
type edgeCase struct {
	name    string
	setup   func(t *testing.T, e *edge)
	req     req
	status  int
	body    string            // exact, when set
	headers map[string]string // "" means absent
	// leaks are strings the body must not contain.
	leaks []string
	// after checks the fakes once the request was answered.
	after func(t *testing.T, e *edge)
}

func runEdgeCases(t *testing.T, cases []edgeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEdge(t)
			if c.setup != nil {
				c.setup(t, e)
			}
			resp := e.do(c.req)
			checkStatus(t, resp, c.status)
			if c.body != "" {
				checkBody(t, resp, c.body)
			}
			checkHeaders(t, resp, c.headers)
			for _, s := range c.leaks {
				if strings.Contains(resp.Body, s) {
					t.Errorf("body %s leaks %q", resp.Body, s)
				}
			}
			if c.after != nil {
				c.after(t, e)
			}
		})
	}
}

// TestEdgeErrorMapping checks each refusal and fault of the services maps to
// the contract's status and body.
func TestEdgeErrorMapping(t *testing.T) {
	collectFails := func(err error) func(*testing.T, *edge) {
		return func(t *testing.T, e *edge) {
			e.wallets.CollectFn = func(ctx context.Context, biz int64, id uuid.UUID) (wallet.Transaction, error) {
				return charge(wallet.Rejected), err
			}
		}
	}
	debit := req{fn: "business-debit", params: chargeParams, caller: business(businessID)}
	deposit := req{fn: "wallets-deposit", params: walletParams, caller: customer(customerID), body: `{"amount":"12.50"}`}
	depositFails := func(err error) func(*testing.T, *edge) {
		return func(t *testing.T, e *edge) {
			e.wallets.DepositFn = func(context.Context, int64, uuid.UUID, money.Amount, string) (wallet.Wallet, error) {
				return wallet.Wallet{}, err
			}
		}
	}
	login := req{fn: "users-login", body: `{"username":"pablo","password":"guess"}`}
	loginFails := func(err error) func(*testing.T, *edge) {
		return func(t *testing.T, e *edge) {
			e.users.LogInFn = func(context.Context, string, string, string) (user.User, error) { return user.User{}, err }
		}
	}
	now := time.Now()

	runEdgeCases(t, []edgeCase{{
		name:   "an internal application error answers the generic 500, not its own words",
		setup:  depositFails(apperr.New(apperr.Internal, "secret internals")),
		req:    deposit,
		status: 500, body: bodyFault, leaks: []string{"secret internals"},
	}, {
		name:   "an application error of an unknown code answers the generic 500",
		setup:  depositFails(apperr.New(apperr.Code("made-up"), "secret internals")),
		req:    deposit,
		status: 500, body: bodyFault, leaks: []string{"secret internals"},
	}, {
		name: "wallet.ErrNotFound is 404",
		setup: func(t *testing.T, e *edge) {
			e.wallets.WalletFn = func(context.Context, int64, uuid.UUID) (wallet.Wallet, error) {
				return wallet.Wallet{}, wallet.ErrNotFound
			}
		},
		req:    req{fn: "wallets-get", params: walletParams, caller: customer(customerID)},
		status: 404, body: bodyNotFound,
	}, {
		name: "a wrapped wallet.ErrNotFound is 404",
		setup: func(t *testing.T, e *edge) {
			e.wallets.WalletFn = func(context.Context, int64, uuid.UUID) (wallet.Wallet, error) {
				return wallet.Wallet{}, fmt.Errorf("wallet %s: %w", walletID, wallet.ErrNotFound)
			}
		},
		req:    req{fn: "wallets-get", params: walletParams, caller: customer(customerID)},
		status: 404, body: bodyNotFound,
	}, {
		name:   "deposit on someone else's wallet is 404",
		setup:  depositFails(wallet.ErrNotFound),
		req:    deposit,
		status: 404, body: bodyNotFound,
	}, {
		name:   "Collect ErrNegativeBalance is 409",
		setup:  collectFails(wallet.ErrNegativeBalance),
		req:    debit,
		status: 409, body: bodyNegative,
	}, {
		name: "Withdraw ErrNegativeBalance is 409",
		setup: func(t *testing.T, e *edge) {
			e.wallets.WithdrawFn = func(context.Context, int64, uuid.UUID, money.Amount, string) (wallet.Wallet, error) {
				return wallet.Wallet{}, wallet.ErrNegativeBalance
			}
		},
		req:    req{fn: "wallets-retire", params: walletParams, caller: customer(customerID), body: `{"amount":"-1000.00"}`},
		status: 409, body: bodyNegative,
	}, {
		name:   "ErrAlreadyProcessed is 409",
		setup:  collectFails(wallet.ErrAlreadyProcessed),
		req:    debit,
		status: 409, body: `{"detail":"Transaction already processed"}`,
	}, {
		name:   "ErrNoBusinessWallet is 409",
		setup:  collectFails(wallet.ErrNoBusinessWallet),
		req:    debit,
		status: 409, body: `{"detail":"Business wallet does not exist"}`,
	}, {
		name:   "charge of another business is 404",
		setup:  collectFails(wallet.ErrNotFound),
		req:    debit,
		status: 404, body: bodyNotFound,
	}, {
		name:   "ErrBalanceOverflow is a 400 field error",
		setup:  depositFails(wallet.ErrBalanceOverflow),
		req:    deposit,
		status: 400, body: `{"amount":["Ensure the balance stays below 1000000000.00."]}`,
	}, {
		name: "ErrBusinessWalletExists is 409",
		setup: func(t *testing.T, e *edge) {
			e.wallets.OpenBusinessWalletFn = func(context.Context, int64) (wallet.Wallet, error) {
				return wallet.Wallet{}, wallet.ErrBusinessWalletExists
			}
		},
		req:    req{fn: "business-wallet-create", caller: business(businessID)},
		status: 409, body: `{"detail":"Business wallet already exists"}`,
	}, {
		name: "ErrBusinessWalletAbsent is 404",
		setup: func(t *testing.T, e *edge) {
			e.wallets.BusinessWalletFn = func(context.Context, int64) (wallet.Wallet, error) {
				return wallet.Wallet{}, wallet.ErrBusinessWalletAbsent
			}
		},
		req:    req{fn: "business-wallet-get", caller: business(businessID)},
		status: 404, body: `{"detail":"Business wallet does not exist"}`,
	}, {
		name:    "database unreachable is 503 with Retry-After, no internals",
		setup:   depositFails(unavailable()),
		req:     deposit,
		status:  503,
		body:    bodyUnavailable,
		headers: map[string]string{"Retry-After": "5"},
		leaks:   []string{"dial", "5432", "refused"},
	}, {
		name: "database unreachable on a read is 503",
		setup: func(t *testing.T, e *edge) {
			e.wallets.WalletFn = func(context.Context, int64, uuid.UUID) (wallet.Wallet, error) { return wallet.Wallet{}, unavailable() }
		},
		req:     req{fn: "wallets-get", params: walletParams, caller: customer(customerID)},
		status:  503,
		body:    bodyUnavailable,
		headers: map[string]string{"Retry-After": "5"},
		leaks:   []string{"dial"},
	}, {
		name:    "a plain error is 500 without internals",
		setup:   depositFails(errors.New(`pq: relation "wallets_wallet" does not exist (SQLSTATE 42P01)`)),
		req:     deposit,
		status:  500,
		body:    bodyFault,
		headers: map[string]string{"Retry-After": ""},
		leaks:   []string{"pq", "wallets_wallet", "SQLSTATE"},
	}, {
		name: "a fault while reading the user is 500",
		setup: func(t *testing.T, e *edge) {
			e.users.UserFn = func(context.Context, int64) (user.User, error) { return user.User{}, errors.New("boom") }
		},
		req:    req{fn: "users-me-get", caller: customer(customerID)},
		status: 500, body: bodyFault, leaks: []string{"boom"},
	}, {
		name:   "user.ErrLoginFailed is 400 non_field_errors",
		setup:  loginFails(user.ErrLoginFailed),
		req:    login,
		status: 400, body: `{"non_field_errors":["Unable to log in with provided credentials."]}`,
	}, {
		name:    "user.ErrThrottled is 429 with Retry-After",
		setup:   loginFails(user.ErrThrottled(now.Add(-user.LoginWindow+90*time.Second), now)),
		req:     login,
		status:  429,
		body:    `{"detail":"Request was throttled. Expected available in 90 seconds."}`,
		headers: map[string]string{"Retry-After": "90"},
	}, {
		name: "a password change refused is 400 with its fields",
		setup: func(t *testing.T, e *edge) {
			e.users.ChangePasswordFn = func(context.Context, int64, user.PasswordChange) error {
				return &apperr.Error{Code: apperr.Invalid, Fields: map[string][]string{"old_password": {user.MsgWrongPassword}}}
			}
		},
		req: req{fn: "users-change-password", method: http.MethodPatch, caller: customer(customerID),
			body: `{"old_password":"x","new_password":"N3w-Password-77","new_password2":"N3w-Password-77"}`},
		status: 400, body: `{"old_password":["Wrong password."]}`,
	}, {
		name: "username taken is 400",
		setup: func(t *testing.T, e *edge) {
			e.users.UpdateProfileFn = func(context.Context, int64, user.ProfileChange) (user.User, error) {
				return user.User{}, apperr.Field("username", user.MsgUsernameTaken)
			}
		},
		req:    req{fn: "users-me-update", caller: customer(customerID), body: `{"username":"taken"}`},
		status: 400, body: `{"username":["A user with that username already exists."]}`,
	}})

	// The login failure answers set no cookie.
	t.Run("failed login sets no cookie", func(t *testing.T) {
		e := newEdge(t)
		loginFails(user.ErrLoginFailed)(t, e)
		if c := cookies(e.do(login)); len(c) != 0 {
			t.Errorf("Set-Cookie = %q on a failed login", c)
		}
	})
	t.Run("malformed JSON detail", func(t *testing.T) {
		e := newEdge(t)
		resp := e.do(req{fn: "users-login", body: `{"username":`})
		checkStatus(t, resp, 400)
		var d api.Detail
		decode(t, resp.Body, &d)
		if !strings.HasPrefix(d.Detail, "JSON parse error - ") {
			t.Errorf("detail = %q, want a JSON parse error", d.Detail)
		}
	})
}

// TestEdgeValidation checks what the edge refuses before (or instead of)
// calling the services.
func TestEdgeValidation(t *testing.T) {
	onlyOwn := func(t *testing.T, e *edge) { e.wallets.WalletFn = ownWallet }
	notOwn := func(t *testing.T, e *edge) {
		e.wallets.WalletFn = func(context.Context, int64, uuid.UUID) (wallet.Wallet, error) {
			return wallet.Wallet{}, wallet.ErrNotFound
		}
	}
	active := func(t *testing.T, e *edge) {
		e.wallets.ActiveBusinessFn = func(ctx context.Context, id int64) (wallet.Business, error) {
			if id != businessID {
				return wallet.Business{}, wallet.ErrNotFound
			}
			return wallet.Business{ID: id, Name: "Media Market"}, nil
		}
	}
	deposit := func(body string) req {
		return req{fn: "wallets-deposit", params: walletParams, caller: customer(customerID), body: body}
	}
	retire := func(body string) req {
		return req{fn: "wallets-retire", params: walletParams, caller: customer(customerID), body: body}
	}
	chargeAt := func(biz, body string) req {
		return req{fn: "charges-create", params: map[string]string{"business_id": biz}, caller: customer(customerID), body: body}
	}
	// Deposit, Withdraw, OpenCharge and SignUp are left unset in every
	// case: the fakes fail the test if the edge calls them.
	runEdgeCases(t, []edgeCase{{
		name:   "bad amount on someone else's wallet: ownership wins, 404",
		setup:  notOwn,
		req:    deposit(`{"amount":"abc"}`),
		status: 404, body: bodyNotFound,
	}, {
		name:   "bad amount on the caller's wallet: 400 amount",
		setup:  onlyOwn,
		req:    deposit(`{"amount":"abc"}`),
		status: 400, body: `{"amount":["A valid number is required."]}`,
	}, {
		name:   "malformed JSON on someone else's wallet: 404",
		setup:  notOwn,
		req:    deposit(`{"amount":`),
		status: 404, body: bodyNotFound,
	}, {
		name:   "negative deposit: 400, Deposit not called",
		setup:  onlyOwn,
		req:    deposit(`{"amount":"-5.00"}`),
		status: 400, body: `{"amount":["Amount must be positive"]}`,
	}, {
		name:   "zero deposit: 400",
		setup:  onlyOwn,
		req:    deposit(`{"amount":0}`),
		status: 400, body: `{"amount":["Amount must be positive"]}`,
	}, {
		name:   "negative deposit on someone else's wallet: 404",
		setup:  notOwn,
		req:    deposit(`{"amount":"-5.00"}`),
		status: 404, body: bodyNotFound,
	}, {
		name:   "deposit without amount: 400 required",
		setup:  onlyOwn,
		req:    deposit(`{"description":"x"}`),
		status: 400, body: `{"amount":["This field is required."]}`,
	}, {
		name:   "deposit with three decimals: 400",
		setup:  onlyOwn,
		req:    deposit(`{"amount":"1.001"}`),
		status: 400, body: `{"amount":["Ensure that there are no more than 2 decimal places."]}`,
	}, {
		name:   "deposit with an exponent: 400",
		setup:  onlyOwn,
		req:    deposit(`{"amount":1e3}`),
		status: 400, body: `{"amount":["A valid number is required."]}`,
	}, {
		name:   "deposit with too long a description: 400",
		setup:  onlyOwn,
		req:    deposit(`{"amount":"1.00","description":"` + strings.Repeat("x", 251) + `"}`),
		status: 400, body: `{"description":["Ensure this field has no more than 250 characters."]}`,
	}, {
		name:   "deposit with a JSON list body: 400 non_field_errors",
		setup:  onlyOwn,
		req:    deposit(`[1]`),
		status: 400, body: `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`,
	}, {
		name:   "deposit on a malformed uuid: 404 without a lookup",
		req:    req{fn: "wallets-deposit", params: map[string]string{"uuid": "not-a-uuid"}, caller: customer(customerID), body: `{"amount":"1.00"}`},
		status: 404, body: bodyNotFound,
	}, {
		name:   "deposit on a braced uuid: 404",
		req:    req{fn: "wallets-deposit", params: map[string]string{"uuid": "{" + walletID.String() + "}"}, caller: customer(customerID), body: `{"amount":"1.00"}`},
		status: 404, body: bodyNotFound,
	}, {
		name:   "positive retire: 400 must be negative",
		setup:  onlyOwn,
		req:    retire(`{"amount":"5.00"}`),
		status: 400, body: `{"amount":["Amount must be negative"]}`,
	}, {
		name:   "zero retire: 400 must be negative",
		setup:  onlyOwn,
		req:    retire(`{"amount":"0"}`),
		status: 400, body: `{"amount":["Amount must be negative"]}`,
	}, {
		name:   "positive retire on someone else's wallet: 404",
		setup:  notOwn,
		req:    retire(`{"amount":"5.00"}`),
		status: 404, body: bodyNotFound,
	}, {
		name:   "charge with a non-uuid wallet: 404",
		setup:  active,
		req:    chargeAt("9", `{"amount":"15.00","wallet":"my-wallet"}`),
		status: 404, body: bodyNotFound,
	}, {
		name: "charge at an inactive business: 404 before the body is read",
		setup: func(t *testing.T, e *edge) {
			e.wallets.ActiveBusinessFn = func(context.Context, int64) (wallet.Business, error) { return wallet.Business{}, wallet.ErrNotFound }
		},
		req:    chargeAt("10", `{"amount":`),
		status: 404, body: bodyNotFound,
	}, {
		name:   "charge at a non-numeric business id: 404 without a lookup",
		req:    chargeAt("abc", `{"amount":"15.00","wallet":"`+walletID.String()+`"}`),
		status: 404, body: bodyNotFound,
	}, {
		name:   "charge at business 0: 404 without a lookup",
		req:    chargeAt("0", `{"amount":"15.00","wallet":"`+walletID.String()+`"}`),
		status: 404, body: bodyNotFound,
	}, {
		name:   "charge at business 09: 404 without a lookup",
		req:    chargeAt("09", `{"amount":"15.00","wallet":"`+walletID.String()+`"}`),
		status: 404, body: bodyNotFound,
	}, {
		name:   "charge with a negative amount and no wallet: both at once",
		setup:  active,
		req:    chargeAt("9", `{"amount":"-15.00"}`),
		status: 400, body: `{"amount":["Amount must be positive"],"wallet":["This field is required."]}`,
	}, {
		name:   "sign-up with missing fields and a weak password: every problem at once",
		req:    req{fn: "users-sign-up", body: `{"password":"123","password2":"123"}`},
		status: 400,
		body: `{"email":["This field is required."],"password":["This password is too short. It must contain at least 8 characters.",` +
			`"This password is too common.","This password is entirely numeric."],"username":["This field is required."]}`,
	}, {
		name: "sign-up with a bad email, a bad type and mismatching passwords",
		req: req{fn: "users-sign-up", body: `{"username":"pablo","email":"not-an-email","type":3,` +
			`"password":"Tr0mbone-Galaxy-42","password2":"Tr0mbone-Galaxy-43"}`},
		status: 400,
		body:   `{"email":["Enter a valid email address."],"password":["Password mismatch"],"type":["\"3\" is not a valid choice."]}`,
	}, {
		name:   "login without password: 400 required",
		req:    req{fn: "users-login", body: `{"username":"pablo"}`},
		status: 400, body: `{"password":["This field is required."]}`,
	}, {
		name:   "a body of an unreadable media type: 415",
		req:    req{fn: "users-login", headers: map[string]string{"Content-Type": "text/plain"}, body: "username=pablo"},
		status: 415, body: `{"detail":"Unsupported media type \"text/plain\" in request."}`,
	}, {
		name:   "a body over 64 KiB: 413",
		req:    req{fn: "users-login", body: `{"username":"` + strings.Repeat("a", api.MaxBody) + `"}`},
		status: 413, body: `{"detail":"Request body is larger than 64 KiB."}`,
	}})
}

// TestEdgeAccess checks the handlers' own guard of the route's audience and
// the 405 of a method the route does not serve.
func TestEdgeAccess(t *testing.T) {
	runEdgeCases(t, []edgeCase{{
		name:   "customer route, business caller: 403",
		req:    req{fn: "wallets-list", caller: business(businessID)},
		status: 403, body: bodyForbidden,
	}, {
		name:   "customer mutation, business caller: 403 before the body",
		req:    req{fn: "wallets-deposit", params: walletParams, caller: business(businessID), body: `{"amount":"x"}`},
		status: 403, body: bodyForbidden,
	}, {
		name:   "business route, customer caller: 403",
		req:    req{fn: "business-debit", params: chargeParams, caller: customer(customerID)},
		status: 403, body: bodyForbidden,
	}, {
		name:    "customer route, no caller: 401 with WWW-Authenticate",
		req:     req{fn: "wallets-deposit", params: walletParams, body: `{"amount":"1.00"}`},
		status:  401,
		body:    bodyNoCreds,
		headers: map[string]string{"WWW-Authenticate": `JWT realm="api"`},
	}, {
		name:    "user route, no caller: 401",
		req:     req{fn: "users-me-get"},
		status:  401,
		body:    bodyNoCreds,
		headers: map[string]string{"WWW-Authenticate": `JWT realm="api"`},
	}, {
		name:   "a caller without a token version is anonymous: 401",
		req:    req{fn: "users-me-get", caller: map[string]any{"user_id": "7", "user_type": "1"}},
		status: 401, body: bodyNoCreds,
	}, {
		name: "numeric context values (local gateway) are a caller",
		setup: func(t *testing.T, e *edge) {
			e.users.UserFn = func(context.Context, int64) (user.User, error) { return pablo(), nil }
		},
		req:    req{fn: "users-me-get", caller: map[string]any{"user_id": float64(7), "user_type": float64(1), "token_version": float64(3)}},
		status: 200, body: pabloJSON,
	}, {
		name:    "wrong method: 405 with Allow",
		req:     req{fn: "wallets-deposit", method: http.MethodDelete, params: walletParams, caller: customer(customerID)},
		status:  405,
		body:    `{"detail":"Method \"DELETE\" not allowed."}`,
		headers: map[string]string{"Allow": "PUT, PATCH"},
	}, {
		name:    "wrong method, anonymous: still 405",
		req:     req{fn: "health", method: http.MethodPost},
		status:  405,
		body:    `{"detail":"Method \"POST\" not allowed."}`,
		headers: map[string]string{"Allow": "GET"},
	}})
}

// TestEdgeHealth checks /health answers from the database ping.
func TestEdgeHealth(t *testing.T) {
	t.Run("ping fails: 503", func(t *testing.T) {
		e := newEdge(t)
		e.health.err = unavailable()
		resp := e.do(req{fn: "health"})
		checkStatus(t, resp, http.StatusServiceUnavailable)
		checkBody(t, resp, `{"status":"unavailable","database":"unreachable"}`)
	})
	t.Run("ping ok: 200", func(t *testing.T) {
		e := newEdge(t)
		resp := e.do(req{fn: "health"})
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, `{"status":"ok","database":"ok"}`)
		if e.health.calls != 1 {
			t.Errorf("Ping called %d times", e.health.calls)
		}
		if !e.health.hasDeadline || time.Until(e.health.deadline) > api.HealthTimeout {
			t.Errorf("Ping deadline %v (set %v), want within %v", e.health.deadline, e.health.hasDeadline, api.HealthTimeout)
		}
	})
}

// TestEdgeDeadlineMargin checks the handler leaves itself time to answer
// before the invocation's deadline.
func TestEdgeDeadlineMargin(t *testing.T) {
	e := newEdge(t)
	parent := time.Now().Add(10 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), parent)
	defer cancel()
	e.wallets.WalletFn = func(ctx context.Context, owner int64, id uuid.UUID) (wallet.Wallet, error) {
		d, ok := ctx.Deadline()
		if !ok || !d.Before(parent.Add(-900*time.Millisecond)) {
			t.Errorf("service deadline %v (set %v), want about a second before %v", d, ok, parent)
		}
		return ownWallet(ctx, owner, id)
	}
	checkStatus(t, e.doCtx(ctx, req{fn: "wallets-get", params: walletParams, caller: customer(customerID)}), http.StatusOK)
}

// TestEdgeUsernameWithSpace: a username is any text that is not blank, as
// the old service accepted (its own tests sign up "Media Market").
func TestEdgeUsernameWithSpace(t *testing.T) {
	t.Run("sign-up", func(t *testing.T) {
		e := newEdge(t)
		e.users.SignUpFn = func(ctx context.Context, a user.NewAccount) (user.User, error) {
			return user.User{ID: businessID, Username: a.Username, Email: a.Email, Type: a.Type, IsActive: true, TokenVersion: 1}, nil
		}
		resp := e.do(req{fn: "users-sign-up", body: `{"username":"Media Market","email":"shop@mail.com",` +
			`"password":"Tr0mbone-Galaxy-42","password2":"Tr0mbone-Galaxy-42","type":2}`})
		checkStatus(t, resp, http.StatusCreated)
		checkBody(t, resp, `{"id":9,"username":"Media Market","email":"shop@mail.com","first_name":"","last_name":"","profile":{"type":2}}`)
	})
	t.Run("profile update", func(t *testing.T) {
		e := newEdge(t)
		e.users.UpdateProfileFn = func(ctx context.Context, id int64, c user.ProfileChange) (user.User, error) {
			return c.Apply(pablo()), nil
		}
		resp := e.do(req{fn: "users-me-update", method: http.MethodPatch, caller: customer(customerID), body: `{"username":"Pablo Moreno"}`})
		checkStatus(t, resp, http.StatusOK)
	})
}

// Usernames reach the service NFKC-normalized and trimmed, at sign-up,
// login and profile update; control and format characters are refused
// before the service is called. A login without a sourceIp is the source "".
func TestEdgeUsernamesNormalized(t *testing.T) {
	const msgChars = "Usernames may not contain control or format characters (such as tabs, line breaks or zero-width characters)."
	t.Run("login: fullwidth letters, no source", func(t *testing.T) {
		e := newEdge(t)
		e.users.LogInFn = func(ctx context.Context, username, password, source string) (user.User, error) {
			if username != "pablo" || source != "" {
				t.Errorf("LogIn(%q, _, %q), want pablo and no source", username, source)
			}
			return pablo(), nil
		}
		checkStatus(t, e.do(req{fn: "users-login", body: `{"username":"ｐａｂｌｏ","password":"pw"}`}), http.StatusOK)
	})
	t.Run("sign-up: decomposed accent and an ideographic space", func(t *testing.T) {
		e := newEdge(t)
		e.users.SignUpFn = func(ctx context.Context, a user.NewAccount) (user.User, error) {
			if a.Username != "José" {
				t.Errorf("SignUp username %q, want the composed José", a.Username)
			}
			return pablo(), nil
		}
		resp := e.do(req{fn: "users-sign-up", body: `{"username":"Jose\u0301\u3000","email":"jose@mail.com",` +
			`"password":"Tr0mbone-Galaxy-42","password2":"Tr0mbone-Galaxy-42"}`})
		checkStatus(t, resp, http.StatusCreated)
	})
	for name, body := range map[string]string{
		"sign-up: a zero-width space": `{"username":"pa\u200bblo","email":"p@mail.com","password":"Tr0mbone-Galaxy-42","password2":"Tr0mbone-Galaxy-42"}`,
		"sign-up: a tab":              `{"username":"pa\tblo","email":"p@mail.com","password":"Tr0mbone-Galaxy-42","password2":"Tr0mbone-Galaxy-42"}`,
		"sign-up: a bidi override":    `{"username":"pablo\u202e","email":"p@mail.com","password":"Tr0mbone-Galaxy-42","password2":"Tr0mbone-Galaxy-42"}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEdge(t) // SignUp is not expected: the fake fails if called
			resp := e.do(req{fn: "users-sign-up", body: body})
			checkStatus(t, resp, http.StatusBadRequest)
			checkBody(t, resp, `{"username":["`+msgChars+`"]}`)
		})
	}
	t.Run("profile update", func(t *testing.T) {
		e := newEdge(t)
		e.users.UpdateProfileFn = func(ctx context.Context, id int64, c user.ProfileChange) (user.User, error) {
			if c.Username == nil || *c.Username != "Media Market" {
				t.Errorf("UpdateProfile username %v", c.Username)
			}
			return pablo(), nil
		}
		checkStatus(t, e.do(req{fn: "users-me-update", method: http.MethodPatch, caller: customer(customerID),
			body: `{"username":"Ｍｅｄｉａ Ｍａｒｋｅｔ"}`}), http.StatusOK)
		e2 := newEdge(t)
		resp := e2.do(req{fn: "users-me-update", method: http.MethodPatch, caller: customer(customerID), body: `{"username":"line\nbreak"}`})
		checkStatus(t, resp, http.StatusBadRequest)
		checkBody(t, resp, `{"username":["`+msgChars+`"]}`)
	})
}
